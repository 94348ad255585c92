pub mod handler;
pub mod sagemaker;
