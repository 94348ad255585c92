//! A small WebDriver client (the W3C protocol: JSON over HTTP) for the
//! worker page's browser test, over reqwest. Written here rather than taken
//! from fantoccini: that crate's dependencies turn on features (of `time`,
//! `syn`) that the rest of the build does not use, so a test build and a
//! demo build would each compile the AWS SDKs; this needs nothing new.

use std::time::Duration;

use serde_json::{json, Value};

/// The key under which WebDriver names an element.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

#[derive(Clone)]
pub struct Browser {
    http: reqwest::Client,
    session: String,
}

#[derive(Clone)]
pub struct Element {
    browser: Browser,
    id: String,
}

/// How an element is found.
pub enum By<'a> {
    Css(&'a str),
    Id(&'a str),
    XPath(&'a str),
}

impl Browser {
    /// A new session on the driver at `driver` with these capabilities.
    pub async fn start(driver: &str, capabilities: Value) -> Result<Browser, String> {
        let http = reqwest::Client::new();
        let body = json!({ "capabilities": { "alwaysMatch": capabilities } });
        let out: Value = http
            .post(format!("{driver}/session"))
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let id = out["value"]["sessionId"].as_str().ok_or_else(|| format!("no session: {out}"))?;
        Ok(Browser { http, session: format!("{driver}/session/{id}") })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            request = request.json(&b);
        }
        let out: Value = request.send().await.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
        match out["value"].get("error") {
            Some(error) => Err(format!("{error}: {}", out["value"]["message"])),
            None => Ok(out["value"].clone()),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) -> Result<(), String> {
        self.post("/url", json!({ "url": url })).await.map(|_| ())
    }

    pub async fn find(&self, by: By<'_>) -> Result<Element, String> {
        let (using, value) = match by {
            By::Css(s) => ("css selector", s.to_string()),
            By::Id(id) => ("css selector", format!("[id='{id}']")),
            By::XPath(x) => ("xpath", x.to_string()),
        };
        let found = self.post("/element", json!({ "using": using, "value": value })).await?;
        let id = found[ELEMENT].as_str().ok_or_else(|| format!("not an element: {found}"))?;
        Ok(Element { browser: self.clone(), id: id.to_string() })
    }

    /// Finds the element once it is there (a page a click leads to may still
    /// be loading): polls for up to ten seconds.
    pub async fn wait_for(&self, by: By<'_>) -> Result<Element, String> {
        let mut last = String::new();
        for _ in 0..100 {
            match self.find(by.copy()).await {
                Ok(e) => return Ok(e),
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(last)
    }

    pub async fn source(&self) -> Result<String, String> {
        Ok(self.get("/source").await?.as_str().unwrap_or_default().to_string())
    }

    /// A PNG of the window.
    pub async fn screenshot(&self) -> Result<Vec<u8>, String> {
        use base64::Engine;
        let text = self.get("/screenshot").await?;
        base64::engine::general_purpose::STANDARD.decode(text.as_str().unwrap_or_default()).map_err(|e| e.to_string())
    }

    pub async fn execute(&self, script: &str) -> Result<Value, String> {
        self.post("/execute/sync", json!({ "script": script, "args": [] })).await
    }

    /// Resizes the window (a phone is about 390 by 844).
    pub async fn resize(&self, width: u32, height: u32) -> Result<(), String> {
        self.post("/window/rect", json!({ "width": width, "height": height })).await.map(|_| ())
    }

    /// The value of the cookie `name` of the current page (HttpOnly ones
    /// too: WebDriver sees what scripts cannot).
    pub async fn cookie(&self, name: &str) -> Result<Option<String>, String> {
        let all = self.get("/cookie").await?;
        Ok(all
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["name"] == name)
            .and_then(|c| c["value"].as_str())
            .map(str::to_string))
    }

    /// Sets the cookie `name` for the current page's site, as a browser
    /// holding a copied or made-up session would send it.
    pub async fn set_cookie(&self, name: &str, value: &str) -> Result<(), String> {
        self.post("/cookie", json!({ "cookie": { "name": name, "value": value, "path": "/" } })).await.map(|_| ())
    }

    pub async fn enter_frame(&self, frame: &Element) -> Result<(), String> {
        self.post("/frame", json!({ "id": { ELEMENT: frame.id } })).await.map(|_| ())
    }

    pub async fn enter_parent_frame(&self) -> Result<(), String> {
        self.post("/frame/parent", json!({})).await.map(|_| ())
    }

    pub async fn close(self) -> Result<(), String> {
        self.call(reqwest::Method::DELETE, "", None).await.map(|_| ())
    }
}

impl By<'_> {
    fn copy(&self) -> By<'_> {
        match self {
            By::Css(s) => By::Css(s),
            By::Id(s) => By::Id(s),
            By::XPath(s) => By::XPath(s),
        }
    }
}

impl Element {
    fn path(&self, what: &str) -> String {
        format!("/element/{}/{what}", self.id)
    }

    pub async fn click(&self) -> Result<(), String> {
        self.browser.post(&self.path("click"), json!({})).await.map(|_| ())
    }

    pub async fn send_keys(&self, text: &str) -> Result<(), String> {
        self.browser.post(&self.path("value"), json!({ "text": text })).await.map(|_| ())
    }

    pub async fn attr(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self.browser.get(&self.path(&format!("attribute/{name}"))).await?.as_str().map(str::to_string))
    }

    pub async fn text(&self) -> Result<String, String> {
        Ok(self.browser.get(&self.path("text")).await?.as_str().unwrap_or_default().to_string())
    }
}
