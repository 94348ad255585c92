//! The API function as deployed, on moto: the service on a DynamoDB table,
//! requests verified against keys issued into it (secrets under KMS), the
//! worker site signing people in through a user pool, served through the
//! function's router; and a Function URL event as Lambda delivers it,
//! through lambda_http's own conversion.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Arc;

use hitloop_workforce::auth::RequesterKeys;
use hitloop_workforce::server::Shared;
use hitloop_workforce::store::Store;
use hitloop_workforce::worker::auth::WorkerAuth;
use hitloop_workforce_cognito::UserPool;
use hitloop_workforce_dynamodb::deployment::Deployment;
use hitloop_workforce_dynamodb::{DynamoKeys, DynamoStore};
use lambda_http::tower::ServiceExt;

struct Deployed {
    sdk: hitloop_aws::SdkConfig,
    deployment: Deployment,
    service: Arc<Shared>,
    sign_in: Arc<dyn WorkerAuth>,
    store: DynamoStore,
}

/// A table and a KMS key on moto, and the service the function builds on them.
async fn deployed() -> Deployed {
    let endpoint = std::env::var("HITLOOP_TEST_AWS_ENDPOINT").expect("HITLOOP_TEST_AWS_ENDPOINT (moto)");
    let sdk = hitloop_aws::local_sdk_config(&endpoint).await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let name = format!("workforce-{}", uuid::Uuid::new_v4());
    let store = DynamoStore::create_funded(ddb, &name, "25.00".parse().unwrap()).await.unwrap();
    let key = aws_sdk_kms::Client::new(&sdk).create_key().description("hitloop test").send().await.unwrap();
    let idp = aws_sdk_cognitoidentityprovider::Client::new(&sdk);
    let pool = idp.create_user_pool().pool_name(&name).send().await.unwrap().user_pool.unwrap().id.unwrap();
    let client = idp.create_user_pool_client().user_pool_id(&pool).client_name("worker-site").send().await.unwrap();
    let user_pool = UserPool { pool_id: pool, client_id: client.user_pool_client.unwrap().client_id.unwrap() };
    let deployment = Deployment { table: name, kms_key: key.key_metadata.unwrap().key_id };
    let config = workforce_api::config::Config { deployment: deployment.clone(), user_pool };
    let (service, sign_in) = config.build(&sdk).unwrap();
    Deployed { sdk, deployment, service, sign_in, store }
}

impl Deployed {
    fn keys(&self) -> DynamoKeys {
        let ddb = aws_sdk_dynamodb::Client::new(&self.sdk);
        DynamoKeys::new(ddb, aws_sdk_kms::Client::new(&self.sdk), &self.deployment.table, &self.deployment.kms_key)
    }

    /// The function's router on a local port (what the Function URL fronts).
    async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = workforce_api::handler::app(self.service.clone(), self.sign_in.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }
}

async fn client(url: &str, id: &str, secret: &str) -> aws_sdk_mturk::Client {
    let credentials = aws_credential_types::Credentials::new(id, secret, None, None, "test");
    aws_sdk_mturk::Client::new(&hitloop_aws::local_sdk_config_as(url, credentials).await)
}

#[tokio::test]
async fn an_issued_key_works_the_table_and_the_site_asks_people_to_sign_in() {
    let d = deployed().await;
    let issued = d.keys().issue("pipeline", 0).await.unwrap();
    let store = &d.store;
    let url = d.serve().await;

    let mturk = client(&url, &issued.key.access_key_id, &issued.secret_access_key).await;
    let balance = mturk.get_account_balance().send().await.unwrap();
    assert_eq!(balance.available_balance(), Some("25.00"), "read from the table");
    let hit = mturk
        .create_hit()
        .max_assignments(2)
        .lifetime_in_seconds(3600)
        .assignment_duration_in_seconds(300)
        .reward("0.05")
        .title("Label a flower")
        .description("Pick the species")
        .question(r#"<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"><HTMLContent><![CDATA[<form><input name="label"></form>]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>"#)
        .send()
        .await
        .unwrap()
        .hit
        .unwrap();
    let hit_id = hit.hit_id().unwrap();
    assert!(store.hit(hit_id).await.unwrap().is_some(), "the HIT is a record of the table");
    assert_eq!(mturk.get_account_balance().send().await.unwrap().available_balance(), Some("24.88"));

    // A wrong secret, then a revoked key: refused as AWS refuses signatures.
    let forged = client(&url, &issued.key.access_key_id, "not-the-secret-at-all-000000000000000000").await;
    let err = forged.get_account_balance().send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400), "as AWS JSON services answer");
    d.keys().revoke(&issued.key.access_key_id).await.unwrap();
    assert!(mturk.get_account_balance().send().await.is_err(), "a revoked key is refused at once");

    // No control endpoint: they trust whoever calls. The worker site asks
    // for an email and a password (the user pool's sign-in).
    let http = reqwest::Client::new();
    let site = http.get(format!("{url}/worker/")).send().await.unwrap().text().await.unwrap();
    assert!(site.contains(r#"name="email""#) && site.contains(r#"type="password""#), "{site}");
    for path in ["/_hitloop/state", "/_hitloop/clock"] {
        assert_eq!(http.get(format!("{url}{path}")).send().await.unwrap().status().as_u16(), 404, "{path}");
    }
    for path in ["/_hitloop/account/deposit", "/_hitloop/workers/accept", "/_hitloop/clock/advance"] {
        let status = http.post(format!("{url}{path}")).json(&serde_json::json!({})).send().await.unwrap().status();
        assert_eq!(status.as_u16(), 404, "{path}");
    }
    assert_eq!(http.get(format!("{url}/_hitloop/health")).send().await.unwrap().status().as_u16(), 200);
}

#[tokio::test]
async fn a_function_url_event_reaches_the_router_through_lambda_http() {
    let d = deployed().await;
    let event = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/http/workforce-get-account-balance.json"
    ))
    .unwrap();
    let request = lambda_http::request::from_str(&event).unwrap();
    assert_eq!(request.uri().path(), "/");
    let response = workforce_api::handler::app(d.service.clone(), d.sign_in.clone()).oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    // Its date is long past: refused for that before its key is looked up.
    assert_eq!((status, body["__type"].as_str()), (400, Some("InvalidSignatureException")), "{body}");
    assert!(body["Message"].as_str().unwrap_or_default().contains("Signature expired"), "{body}");
}
