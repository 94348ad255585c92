/*
 * A small local stand-in for AWS's crowd-html-elements.js, which cannot be
 * loaded from the internet here. It implements the elements hitloop's
 * templates use -- crowd-form, crowd-classifier, crowd-image-classifier --
 * and submits the same answer: one `taskAnswers` field holding
 * [{"<name>": {"label": "<choice>"}}], or [{"<name>.label": "<choice>"}] with
 * answer-format="flatten-objects", posted with `assignmentId` to
 * <turkSubmitTo>/mturk/externalSubmit (MTurk's externalSubmit contract).
 * Plain named inputs inside a crowd-form are included by name.
 * It looks like none of AWS's components; it is meant to be usable and
 * accessible: native radio buttons in a fieldset with a legend, labels,
 * keyboard use, an alert when something is missing.
 */
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var NOT_ACCEPTED = "ASSIGNMENT_ID_NOT_AVAILABLE";
  var counter = 0;

  // categories="['a', 'b']" (AWS's examples) or a JSON array.
  function categories(text) {
    if (!text) return [];
    try { return JSON.parse(text); } catch (e) { /* try single quotes */ }
    try { return JSON.parse(text.replace(/'/g, '"')); } catch (e) { return []; }
  }

  function whenParsed(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  function element(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  class CrowdClassifier extends HTMLElement {
    connectedCallback() {
      if (this._built) return;
      this._built = true;
      whenParsed(() => this.build());
    }
    build() {
      var name = this.getAttribute("name") || "label";
      var id = "crowd-" + (++counter);
      var full = this.querySelector("full-instructions");
      var short = this.querySelector("short-instructions");
      var box = element("fieldset", { "class": "crowd-classifier" });
      box.appendChild(element("legend", {}, this.getAttribute("header") || "Choose one"));
      if (short) box.appendChild(element("p", { "class": "crowd-short" }, short.textContent.trim()));
      var src = this.getAttribute("src");
      if (src) {
        box.appendChild(element("img", { src: src, alt: "The item to classify", style: "max-width:100%;max-height:50vh" }));
      }
      categories(this.getAttribute("categories")).forEach(function (c, i) {
        var rid = id + "-" + i;
        var row = element("div", { "class": "crowd-choice" });
        var input = element("input", { type: "radio", id: rid, name: id, value: String(c) });
        row.appendChild(input);
        row.appendChild(element("label", { "for": rid, style: "display:inline;font-weight:normal;margin-left:.4rem" }, String(c)));
        box.appendChild(row);
      });
      if (full) {
        var details = element("details");
        details.appendChild(element("summary", {}, full.getAttribute("header") || "Full instructions"));
        while (full.firstChild) details.appendChild(full.firstChild);
        box.appendChild(details);
        full.remove();
      }
      if (short) short.remove();
      var count = box.querySelectorAll('input[type="radio"]').length;
      if (count > 0 && count <= 9 && !document.querySelector(".crowd-keys")) {
        box.appendChild(element("p", { "class": "crowd-keys" },
          "Keys: 1" + (count > 1 ? "\u2013" + count : "") + " choose, Enter submits."));
      }
      this.appendChild(box);
      this._group = id;
      this._name = name;
    }
    get answerName() { return this.getAttribute("name") || "label"; }
    get value() {
      var checked = this.querySelector('input[type="radio"]:checked');
      return checked ? checked.value : null;
    }
    focusFirst() {
      var first = this.querySelector('input[type="radio"]');
      if (first) first.focus();
    }
  }

  class CrowdImageClassifier extends CrowdClassifier {}

  class CrowdForm extends HTMLElement {
    connectedCallback() {
      if (this._built) return;
      this._built = true;
      whenParsed(() => this.build());
    }
    build() {
      var assignmentId = params.get("assignmentId") || NOT_ACCEPTED;
      var base = (params.get("turkSubmitTo") || "").replace(/\/$/, "");
      var form = element("form", { method: "post", action: base + "/mturk/externalSubmit" });
      while (this.firstChild) form.appendChild(this.firstChild);
      form.appendChild(element("input", { type: "hidden", name: "assignmentId", value: assignmentId }));
      var answers = element("input", { type: "hidden", name: "taskAnswers", value: "" });
      form.appendChild(answers);
      var alert = element("p", { role: "alert", "class": "crowd-alert", style: "color:#a50e0e;font-weight:600" });
      form.appendChild(alert);
      var preview = assignmentId === NOT_ACCEPTED;
      var button = element("button", { type: "submit", "class": "primary" }, preview ? "Accept the HIT to submit" : "Submit");
      if (preview) button.disabled = true;
      form.appendChild(button);
      var flatten = this.getAttribute("answer-format") === "flatten-objects";
      form.addEventListener("change", function () { alert.textContent = ""; });
      form.addEventListener("submit", function (event) {
        var answer = {};
        var missing = null;
        form.querySelectorAll("crowd-classifier, crowd-image-classifier").forEach(function (c) {
          var v = c.value;
          if (v === null && !missing) missing = c;
          if (flatten) answer[c.answerName + ".label"] = v;
          else answer[c.answerName] = { label: v };
        });
        // plain named fields, as crowd-form includes them (not the classifiers' radios)
        form.querySelectorAll("input[name], textarea[name], select[name]").forEach(function (f) {
          if (f.name === "assignmentId" || f.name === "taskAnswers" || f.name.indexOf("crowd-") === 0) return;
          if ((f.type === "radio" || f.type === "checkbox") && !f.checked) return;
          answer[f.name] = f.value;
        });
        if (preview) { event.preventDefault(); alert.textContent = "This is a preview: accept the HIT first."; return; }
        if (missing) {
          event.preventDefault();
          alert.textContent = "Choose an answer before submitting.";
          missing.focusFirst();
          return;
        }
        answers.value = JSON.stringify([answer]);
        // only assignmentId and taskAnswers go to MTurk, as with crowd-form
        form.querySelectorAll("input[name], textarea[name], select[name]").forEach(function (f) {
          if (f !== answers && f.name !== "assignmentId") f.removeAttribute("name");
        });
      });
      this.appendChild(form);
    }
  }

  // The keyboard: 1-9 choose that answer of the first classifier, Enter
  // submits the form (not from a text box, where Enter is typing).
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var typing = event.target && /^(TEXTAREA|SELECT)$/.test(event.target.tagName) ||
      (event.target && event.target.tagName === "INPUT" && !/^(radio|checkbox)$/.test(event.target.type));
    if (typing) return;
    var form = document.querySelector("crowd-form form");
    if (!form) return;
    if (/^[1-9]$/.test(event.key)) {
      var radios = form.querySelectorAll('input[type="radio"]');
      var pick = radios[parseInt(event.key, 10) - 1];
      if (pick) { pick.checked = true; pick.focus(); pick.dispatchEvent(new Event("change", { bubbles: true })); event.preventDefault(); }
    } else if (event.key === "Enter") {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  window.addEventListener("load", function () { window.focus(); });

  // A little style of its own, so a task page without any is readable.
  var style = document.createElement("style");
  style.textContent =
    "crowd-form{display:block;font:16px/1.5 system-ui,sans-serif;color:#1a1a1a}" +
    ".crowd-classifier{border:1px solid #c8c8c8;border-radius:6px;padding:.75rem 1rem;margin:0 0 1rem}" +
    ".crowd-classifier legend{font-weight:700;padding:0 .25rem}" +
    ".crowd-choice{padding:.2rem 0}.crowd-choice input{width:1.1rem;height:1.1rem;vertical-align:middle}" +
    "crowd-form button{font:inherit;padding:.4rem 1rem;border-radius:4px;border:1px solid #0b57d0;background:#0b57d0;color:#fff}" +
    "crowd-form button:disabled{background:#e8e8e8;color:#4a4a4a;border-color:#888}" +
    "crowd-form :focus{outline:3px solid #0b57d0;outline-offset:2px}" +
    ".crowd-keys{color:#4a4a4a;font-size:.9rem;margin:.5rem 0 0}";
  (document.head || document.documentElement).appendChild(style);

  customElements.define("crowd-classifier", CrowdClassifier);
  customElements.define("crowd-image-classifier", CrowdImageClassifier);
  customElements.define("crowd-form", CrowdForm);
})();
