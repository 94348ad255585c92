//! Object storage for manifests, templates and outputs (S3: `hitloop-s3`).

use async_trait::async_trait;
use hitloop_core::error::Result;
use tokio::io::AsyncRead;

/// What a HEAD request tells of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHead {
    pub etag: String,
    pub size: u64,
}

pub type Reader = Box<dyn AsyncRead + Send + Unpin>;

#[async_trait]
pub trait Blobs: Send + Sync {
    /// A small text object (job.json, a template); None if missing; Invalid
    /// if it is larger than `max_bytes` or not UTF-8.
    async fn text(&self, bucket: &str, key: &str, max_bytes: usize) -> Result<Option<String>>;
    /// A streaming reader and the object's ETag; None if missing.
    async fn open(&self, bucket: &str, key: &str) -> Result<Option<(Reader, String)>>;
    /// The object's ETag and size without reading it; None if missing.
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectHead>>;
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> Result<()>;
    async fn delete(&self, bucket: &str, key: &str) -> Result<()>;
}
