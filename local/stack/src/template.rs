//! `infra/template.yaml`, read for the local stack: which queues, tables,
//! buckets and rules exist with which properties, which function consumes
//! which queue, and what each function's environment names. The local stack
//! is created from this, so it cannot drift from what `sam deploy` creates.

use std::collections::BTreeMap;

use serde_yaml_ng::Value as Yaml;

/// The template, compiled in: the binary and the template are one version.
pub const TEMPLATE: &str = include_str!("../../../infra/template.yaml");

#[derive(Debug, thiserror::Error)]
#[error("infra/template.yaml: {0}")]
pub struct TemplateError(pub String);

/// An intrinsic function a property may be: `!Ref X` or `!GetAtt X.Attr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intrinsic {
    Ref(String),
    GetAtt(String, String),
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub logical_id: String,
    pub kind: String,
    pub properties: Yaml,
    pub metadata: Yaml,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub resources: Vec<Resource>,
    pub parameters: BTreeMap<String, Yaml>,
    /// Globals.Function.Environment.Variables
    pub global_env: BTreeMap<String, Yaml>,
}

impl Template {
    pub fn load() -> Result<Template, TemplateError> {
        Template::parse(TEMPLATE)
    }

    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let doc: Yaml = serde_yaml_ng::from_str(text).map_err(|e| TemplateError(e.to_string()))?;
        let mut resources = Vec::new();
        let Some(map) = doc.get("Resources").and_then(Yaml::as_mapping) else {
            return Err(TemplateError("no Resources".into()));
        };
        for (id, r) in map {
            resources.push(Resource {
                logical_id: id.as_str().unwrap_or_default().to_string(),
                kind: r.get("Type").and_then(Yaml::as_str).unwrap_or_default().to_string(),
                properties: r.get("Properties").cloned().unwrap_or(Yaml::Null),
                metadata: r.get("Metadata").cloned().unwrap_or(Yaml::Null),
            });
        }
        let entries = |v: Option<&Yaml>| -> BTreeMap<String, Yaml> {
            v.and_then(Yaml::as_mapping)
                .map(|m| m.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone()))).collect())
                .unwrap_or_default()
        };
        Ok(Template {
            parameters: entries(doc.get("Parameters")),
            global_env: entries(
                doc.get("Globals")
                    .and_then(|g| g.get("Function"))
                    .and_then(|f| f.get("Environment"))
                    .and_then(|e| e.get("Variables")),
            ),
            resources,
        })
    }

    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources.iter().filter(move |r| r.kind == kind)
    }

    /// A parameter's default value.
    pub fn default_of(&self, parameter: &str) -> Option<String> {
        self.parameters.get(parameter)?.get("Default").and_then(scalar)
    }
}

impl Resource {
    pub fn prop(&self, path: &[&str]) -> Option<&Yaml> {
        let mut v = &self.properties;
        for p in path {
            v = v.get(*p)?;
        }
        Some(v)
    }
}

/// A scalar as text (numbers and booleans included).
pub fn scalar(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The intrinsic function `v` is, in short (`!Ref`) or long (`Ref:`) form.
pub fn intrinsic(v: &Yaml) -> Option<Intrinsic> {
    match v {
        Yaml::Tagged(t) => {
            let tag = t.tag.to_string();
            match tag.as_str() {
                "!Ref" => Some(Intrinsic::Ref(t.value.as_str()?.to_string())),
                "!GetAtt" => {
                    let (id, attr) = t.value.as_str()?.split_once('.')?;
                    Some(Intrinsic::GetAtt(id.to_string(), attr.to_string()))
                }
                _ => None,
            }
        }
        Yaml::Mapping(m) if m.len() == 1 => {
            if let Some(r) = m.get("Ref").and_then(Yaml::as_str) {
                return Some(Intrinsic::Ref(r.to_string()));
            }
            let parts = m.get("Fn::GetAtt")?.as_sequence()?;
            Some(Intrinsic::GetAtt(parts.first()?.as_str()?.to_string(), parts.get(1)?.as_str()?.to_string()))
        }
        _ => None,
    }
}

/// Plain YAML as JSON (an EventPattern); intrinsics are not resolved.
pub fn to_json(v: &Yaml) -> serde_json::Value {
    match v {
        Yaml::Null => serde_json::Value::Null,
        Yaml::Bool(b) => (*b).into(),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into()
            } else {
                n.as_f64().map(serde_json::Value::from).unwrap_or_default()
            }
        }
        Yaml::String(s) => s.clone().into(),
        Yaml::Sequence(items) => items.iter().map(to_json).collect(),
        Yaml::Mapping(m) => {
            m.iter().filter_map(|(k, v)| Some((scalar(k)?, to_json(v)))).collect::<serde_json::Map<_, _>>().into()
        }
        Yaml::Tagged(t) => to_json(&t.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_reads() {
        let t = Template::load().unwrap();
        assert!(t.of_kind("AWS::SQS::Queue").count() >= 6);
        assert_eq!(t.of_kind("AWS::DynamoDB::Table").count(), 1);
        assert!(t.global_env.is_empty(), "each function has its own environment");
        let collect = t.of_kind("AWS::Serverless::Function").find(|f| f.logical_id == "CollectFunction").unwrap();
        assert_eq!(
            intrinsic(collect.prop(&["Environment", "Variables", "TABLE_NAME"]).unwrap()),
            Some(Intrinsic::Ref("JobsTable".into()))
        );
        let queue = t.of_kind("AWS::SQS::Queue").find(|q| q.logical_id == "PublishQueue").unwrap();
        assert_eq!(
            intrinsic(queue.prop(&["RedrivePolicy", "deadLetterTargetArn"]).unwrap()),
            Some(Intrinsic::GetAtt("PublishDLQ".into(), "Arn".into()))
        );
        assert_eq!(t.default_of("SweepSchedule").as_deref(), Some("rate(5 minutes)"));
        let rule = t.of_kind("AWS::Events::Rule").next().unwrap();
        assert_eq!(to_json(rule.prop(&["EventPattern"]).unwrap())["source"][0], "aws.sagemaker");
    }
}
