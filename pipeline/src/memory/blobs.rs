//! Objects in memory.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use async_trait::async_trait;
use hitloop_core::error::{Error, Result};

use crate::ports::{Blobs, ObjectHead, Reader};

#[derive(Default)]
pub struct MemoryBlobs {
    objects: Mutex<HashMap<(String, String), Vec<u8>>>,
}

impl MemoryBlobs {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.objects.lock().ok()?.get(&(bucket.to_string(), key.to_string())).cloned()
    }

    fn etag(body: &[u8]) -> String {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        body.hash(&mut h);
        format!("{:016x}", h.finish())
    }
}

#[async_trait]
impl Blobs for MemoryBlobs {
    async fn text(&self, bucket: &str, key: &str, max_bytes: usize) -> Result<Option<String>> {
        let Some(body) = self.get(bucket, key) else { return Ok(None) };
        if body.len() > max_bytes {
            return Err(Error::Invalid(format!("s3://{bucket}/{key} is larger than {max_bytes} bytes")));
        }
        String::from_utf8(body).map(Some).map_err(|_| Error::Invalid(format!("s3://{bucket}/{key} is not UTF-8 text")))
    }

    async fn open(&self, bucket: &str, key: &str) -> Result<Option<(Reader, String)>> {
        Ok(self.get(bucket, key).map(|body| {
            let etag = Self::etag(&body);
            (Box::new(std::io::Cursor::new(body)) as Reader, etag)
        }))
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectHead>> {
        Ok(self.get(bucket, key).map(|body| ObjectHead { etag: Self::etag(&body), size: body.len() as u64 }))
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, _content_type: &str) -> Result<()> {
        let mut objects = self.objects.lock().map_err(|_| Error::Permanent("poisoned".into()))?;
        objects.insert((bucket.to_string(), key.to_string()), body);
        Ok(())
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<()> {
        let mut objects = self.objects.lock().map_err(|_| Error::Permanent("poisoned".into()))?;
        objects.remove(&(bucket.to_string(), key.to_string()));
        Ok(())
    }
}
