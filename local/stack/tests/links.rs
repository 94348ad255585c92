//! Each function links the SDK of every AWS service it calls and no other,
//! and reads exactly the variables the SAM template gives it (the pipeline's
//! `infra/template.yaml` and the workforce service's `infra/workforce.yaml`). "Calls" is
//! what its IAM policy in the template allows; "links" is what `cargo tree`
//! says of its crate; "reads" is its `Config::VARIABLES`, and the template's
//! variables must build its configuration. No server needed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::collections::{BTreeMap, BTreeSet};

use hitloop_lambda::env::Vars;
use hitloop_local::template::{scalar, Template};
use serde_yaml_ng::Value as Yaml;

/// The SDK crate of each service an IAM action prefix names.
const SDK_OF: [(&str, &str); 9] = [
    ("dynamodb", "aws-sdk-dynamodb"),
    ("s3", "aws-sdk-s3"),
    ("sqs", "aws-sdk-sqs"),
    ("mechanicalturk", "aws-sdk-mturk"),
    ("sagemaker", "aws-sdk-sagemaker"),
    ("kms", "aws-sdk-kms"),
    ("sns", "aws-sdk-sns"),
    ("secretsmanager", "aws-sdk-secretsmanager"),
    ("cognito-idp", "aws-sdk-cognitoidentityprovider"),
];

/// Actions whose service has an SDK of its own under the same IAM prefix:
/// InvokeEndpoint is SageMaker Runtime's.
const SDK_OF_ACTION: [(&str, &str); 1] = [("sagemaker:InvokeEndpoint", "aws-sdk-sagemakerruntime")];

const WORKFORCE_TEMPLATE: &str = include_str!("../../../infra/workforce.yaml");

/// SDK crates aws-config brings for credentials (STS for assumed roles and
/// web identity): no function calls them itself.
const CREDENTIALS: [&str; 3] = ["aws-sdk-sts", "aws-sdk-sso", "aws-sdk-ssooidc"];

struct Function {
    binary: String,
    variables: BTreeSet<String>,
    services: BTreeSet<String>,
}

fn functions() -> Vec<Function> {
    let pipeline = Template::load().unwrap();
    let workforce = Template::parse(WORKFORCE_TEMPLATE).unwrap();
    [pipeline, workforce].iter().flat_map(functions_of).collect()
}

fn functions_of(t: &Template) -> Vec<Function> {
    t.of_kind("AWS::Serverless::Function")
        .map(|f| {
            let binary = f.metadata.get("BuildProperties").and_then(|b| b.get("Binary")).and_then(scalar).unwrap();
            let variables = f
                .prop(&["Environment", "Variables"])
                .and_then(Yaml::as_mapping)
                .map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            let mut services = BTreeSet::new();
            for policy in f.prop(&["Policies"]).and_then(Yaml::as_sequence).into_iter().flatten() {
                for statement in policy.get("Statement").and_then(Yaml::as_sequence).into_iter().flatten() {
                    let actions = match statement.get("Action") {
                        Some(Yaml::Sequence(list)) => list.iter().filter_map(scalar).collect::<Vec<_>>(),
                        Some(one) => scalar(one).into_iter().collect(),
                        None => vec![],
                    };
                    for a in actions {
                        let service = a.split(':').next().unwrap_or_default().to_string();
                        if let Some((_, sdk)) = SDK_OF_ACTION.iter().find(|(action, _)| *action == a) {
                            services.insert(sdk.to_string());
                        } else if let Some((_, sdk)) = SDK_OF.iter().find(|(s, _)| *s == service) {
                            services.insert(sdk.to_string());
                        }
                    }
                }
            }
            Function { binary, variables, services }
        })
        .collect()
}

fn linked_sdks(binary: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
    let out = std::process::Command::new(cargo)
        .args(["tree", "--locked", "--manifest-path", manifest, "-p", binary, "-e", "normal"])
        .args(["--prefix", "none", "--format", "{p}"])
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree -p {binary}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| name.starts_with("aws-sdk-") && !CREDENTIALS.contains(name))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_function_links_the_sdks_of_the_services_it_calls_and_no_other() {
    let functions = functions();
    assert_eq!(functions.len(), 7);
    for f in &functions {
        let linked = linked_sdks(&f.binary);
        assert_eq!(linked, f.services, "{}: linked SDKs (left) against its IAM policy's services (right)", f.binary);
    }
    let collect = functions.iter().find(|f| f.binary == "collect").unwrap();
    assert!(!collect.services.contains("aws-sdk-s3") && !collect.services.contains("aws-sdk-sagemaker"));
}

#[test]
fn every_function_reads_what_the_template_gives_it() {
    for f in functions() {
        let reads: BTreeSet<String> = match f.binary.as_str() {
            "ingest" => ingest::config::Config::VARIABLES,
            "publish" => publish::config::Config::VARIABLES,
            "collect" => collect::config::Config::VARIABLES,
            "sweep" => sweep::config::Config::VARIABLES,
            "train" => train::config::Config::VARIABLES,
            "workforce-api" => workforce_api::config::Config::VARIABLES,
            "workforce-pass" => workforce_pass::config::Config::VARIABLES,
            other => panic!("a function the test does not know: {other}"),
        }
        .iter()
        .map(|v| v.to_string())
        .collect();
        let extra: Vec<_> = f.variables.difference(&reads).collect();
        assert!(extra.is_empty(), "{}: the template gives variables it never reads: {extra:?}", f.binary);
        // What the template gives is enough to build the configuration.
        let env: BTreeMap<String, String> = f.variables.iter().map(|v| (v.clone(), "1".to_string())).collect();
        let vars = Vars::Map(&env);
        let built = match f.binary.as_str() {
            "ingest" => ingest::config::Config::from(&vars).map(|_| ()),
            "publish" => publish::config::Config::from(&vars).map(|_| ()),
            "collect" => collect::config::Config::from(&vars).map(|_| ()),
            "sweep" => sweep::config::Config::from(&vars).map(|_| ()),
            "workforce-api" => workforce_api::config::Config::from(&vars).map(|_| ()),
            "workforce-pass" => workforce_pass::config::Config::from(&vars).map(|_| ()),
            _ => train::config::Config::from(&vars).map(|_| ()),
        };
        assert!(built.is_ok(), "{}: {built:?}", f.binary);
    }
}
