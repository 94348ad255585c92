//! Blobs: small texts with limits, streams with their ETag, HEAD without
//! reading.

use hitloop_core::error::Error;
use hitloop_pipeline::ports::Blobs;
use tokio::io::AsyncReadExt;

pub async fn blobs(b: &dyn Blobs, bucket: &str, prefix: &str) {
    let key = format!("{prefix}/job.json");
    assert_eq!(b.text(bucket, &key, 100).await.unwrap(), None);
    assert_eq!(b.head(bucket, &key).await.unwrap(), None);
    assert!(b.open(bucket, &key).await.unwrap().is_none());

    b.put(bucket, &key, br#"{"labels": ["a"]}"#.to_vec(), "application/json").await.unwrap();
    assert_eq!(b.text(bucket, &key, 100).await.unwrap().as_deref(), Some(r#"{"labels": ["a"]}"#));
    assert!(matches!(b.text(bucket, &key, 5).await, Err(Error::Invalid(m)) if m.contains("larger than 5")));
    let head = b.head(bucket, &key).await.unwrap().unwrap();
    assert_eq!(head.size, 17);
    let (mut reader, etag) = b.open(bucket, &key).await.unwrap().unwrap();
    assert_eq!(etag, head.etag, "HEAD and GET agree on the ETag");
    let mut body = String::new();
    reader.read_to_string(&mut body).await.unwrap();
    assert_eq!(body.len(), 17);

    b.put(bucket, &key, b"{}".to_vec(), "application/json").await.unwrap();
    assert_ne!(b.head(bucket, &key).await.unwrap().unwrap().etag, etag, "another body, another ETag");

    let binary = format!("{prefix}/binary");
    b.put(bucket, &binary, vec![0xff, 0xfe, 0x00], "application/octet-stream").await.unwrap();
    assert!(matches!(b.text(bucket, &binary, 100).await, Err(Error::Invalid(m)) if m.contains("UTF-8")));

    b.delete(bucket, &key).await.unwrap();
    assert_eq!(b.text(bucket, &key, 100).await.unwrap(), None);
    b.delete(bucket, &key).await.unwrap();
}
