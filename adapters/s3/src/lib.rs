//! The Blobs port on S3: manifests and templates in, outputs and error
//! reports out. Linked only by what uses S3.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use hitloop_aws::classify;
use hitloop_core::error::{Error, Result};
use hitloop_pipeline::ports::{Blobs, ObjectHead, Reader};
use tokio::io::AsyncReadExt;

pub struct S3Blobs {
    client: Client,
}

impl S3Blobs {
    pub fn new(client: Client) -> Self {
        S3Blobs { client }
    }

    /// A client for the configuration; a custom endpoint (moto) serves
    /// buckets by path, not by host name.
    pub fn from_sdk(sdk: &hitloop_aws::SdkConfig) -> Self {
        let local = sdk.endpoint_url().is_some();
        S3Blobs::new(Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(local).build()))
    }
}

fn missing<E: aws_sdk_s3::error::ProvideErrorMetadata, R>(e: &aws_sdk_s3::error::SdkError<E, R>) -> bool {
    matches!(e.as_service_error().and_then(|s| s.code()), Some("NoSuchKey") | Some("NotFound"))
}

#[async_trait]
impl Blobs for S3Blobs {
    async fn text(&self, bucket: &str, key: &str, max_bytes: usize) -> Result<Option<String>> {
        let Some((mut reader, _)) = self.open(bucket, key).await? else { return Ok(None) };
        let mut buf = Vec::new();
        (&mut reader).take(max_bytes as u64 + 1).read_to_end(&mut buf).await.map_err(Error::retryable)?;
        if buf.len() > max_bytes {
            return Err(Error::Invalid(format!("s3://{bucket}/{key} is larger than {max_bytes} bytes")));
        }
        String::from_utf8(buf).map(Some).map_err(|_| Error::Invalid(format!("s3://{bucket}/{key} is not UTF-8 text")))
    }

    async fn open(&self, bucket: &str, key: &str) -> Result<Option<(Reader, String)>> {
        match self.client.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => {
                let etag = out.e_tag().unwrap_or_default().trim_matches('"').to_string();
                Ok(Some((Box::new(out.body.into_async_read()), etag)))
            }
            Err(e) if missing(&e) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectHead>> {
        match self.client.head_object().bucket(bucket).key(key).send().await {
            Ok(out) => Ok(Some(ObjectHead {
                etag: out.e_tag().unwrap_or_default().trim_matches('"').to_string(),
                size: out.content_length().unwrap_or(0).max(0) as u64,
            })),
            Err(e) if missing(&e) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> Result<()> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<()> {
        self.client.delete_object().bucket(bucket).key(key).send().await.map_err(classify)?;
        Ok(())
    }
}
