//! The hand-written OpenAPI 3 description served at /v1/openapi.json (kept beside the routes;
//! a test checks it parses and names every route).

pub const SPEC: &str = r##"{
  "openapi": "3.0.3",
  "info": {
    "title": "warroom sync API",
    "version": "1",
    "description": "Share incident event logs between warroom clients. Every /v1 route needs `Authorization: Bearer TOKEN` unless the server runs with --insecure-loopback. Every error (4xx/5xx, including unknown routes, 405 and 413) answers application/json {\"error\", \"field\"?, \"index\"?}; the token is compared exactly (no whitespace around or inside it)."
  },
  "components": {
    "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
    "schemas": {
      "Event": {
        "type": "object",
        "description": "One immutable incident event; `type` selects the kind (opened, note, amended, severity_set, status_set, acknowledged, role_assigned, process_signalled, evidence_captured, runbook_attached, checklist_item_set, command_run, paged, contact_attempted, status_update_posted, process_outcome, service_restarted) and the kind's fields sit beside these.",
        "required": ["id", "incident", "at", "author", "type"],
        "properties": {
          "id": { "type": "string", "format": "uuid" },
          "incident": { "type": "string", "format": "uuid" },
          "at": { "type": "string", "format": "date-time" },
          "author": { "type": "string", "maxLength": 256 },
          "type": { "type": "string" }
        },
        "additionalProperties": true
      },
      "Ack": { "type": "object", "required": ["id", "seq"], "properties": { "id": { "type": "string", "format": "uuid" }, "seq": { "type": "integer" } } },
      "Sequenced": { "type": "object", "required": ["seq", "event"], "properties": { "seq": { "type": "integer" }, "event": { "$ref": "#/components/schemas/Event" } } },
      "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "string" }, "field": { "type": "string" }, "index": { "type": "integer" } } },
      "Presence": { "type": "object", "required": ["viewers"], "properties": { "viewers": { "type": "array", "items": { "type": "string" } } } },
      "IncidentSummary": {
        "type": "object",
        "properties": {
          "id": { "type": "string", "format": "uuid" }, "title": { "type": "string" }, "severity": { "type": "integer" },
          "status": { "type": "string" }, "opened_at": { "type": "string", "format": "date-time" }, "opened_by": { "type": "string" },
          "last_event_at": { "type": "string", "format": "date-time" }, "event_count": { "type": "integer" },
          "last_seq": { "type": "integer" }, "viewers": { "type": "array", "items": { "type": "string" } }
        }
      }
    },
    "responses": {
      "Unauthorized": { "description": "missing or invalid bearer token", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
      "Unprocessable": { "description": "malformed body, unknown kind or a field over its limit; `field` names it", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
      "BadRequest": { "description": "a query parameter that does not parse, or an unknown one; `field` names it", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
    }
  },
  "security": [ { "bearer": [] } ],
  "paths": {
    "/v1/incidents/{id}/events": {
      "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } } ],
      "post": {
        "summary": "Append a batch (at most 1000 events, body at most 1 MB). Idempotent by event id; all-or-nothing.",
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["events"], "properties": { "events": { "type": "array", "items": { "$ref": "#/components/schemas/Event" } } } } } } },
        "responses": {
          "200": { "description": "one ack per event, in request order", "content": { "application/json": { "schema": { "type": "object", "properties": { "acks": { "type": "array", "items": { "$ref": "#/components/schemas/Ack" } } } } } } },
          "401": { "$ref": "#/components/responses/Unauthorized" },
          "403": { "description": "an event's author is not the token's name (`name` or `name@...`)" },
          "409": { "description": "an event id already stored with a different body (compared as canonical JSON); `field` and `index` name it. The same id with the same body is an idempotent 200.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "413": { "description": "body larger than 1 MB", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "415": { "description": "content-type is not application/json", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "422": { "$ref": "#/components/responses/Unprocessable" }
        }
      },
      "get": {
        "summary": "Catch up: events with seq > after, oldest first.",
        "parameters": [
          { "name": "after", "in": "query", "schema": { "type": "integer", "default": 0 } },
          { "name": "limit", "in": "query", "schema": { "type": "integer", "default": 1000, "maximum": 1000 } }
        ],
        "responses": {
          "200": { "description": "a page", "content": { "application/json": { "schema": { "type": "object", "properties": { "events": { "type": "array", "items": { "$ref": "#/components/schemas/Sequenced" } }, "last_seq": { "type": "integer" } } } } } },
          "400": { "$ref": "#/components/responses/BadRequest" },
          "401": { "$ref": "#/components/responses/Unauthorized" }
        }
      }
    },
    "/v1/incidents/{id}/stream": {
      "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } } ],
      "get": {
        "summary": "Server-Sent Events: `event` messages (id = seq, data = Event JSON) from Last-Event-ID (or ?after=) on, `presence` messages (data = Presence), and `heartbeat` messages (data = {head, every_ms, store}: the head sequence, the interval, the server database's identity).",
        "parameters": [
          { "name": "Last-Event-ID", "in": "header", "schema": { "type": "integer" } },
          { "name": "after", "in": "query", "schema": { "type": "integer" } },
          { "name": "viewer", "in": "query", "description": "presence name on a server without tokens", "schema": { "type": "string" } }
        ],
        "responses": { "200": { "description": "text/event-stream", "content": { "text/event-stream": {} } }, "401": { "$ref": "#/components/responses/Unauthorized" } }
      }
    },
    "/v1/incidents/{id}/presence": {
      "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } } ],
      "get": { "summary": "Who has a stream open on the incident now.", "responses": { "200": { "description": "viewers", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Presence" } } } } } }
    },
    "/v1/incidents": {
      "get": { "summary": "Every incident, folded, newest first, with its viewers.", "responses": { "200": { "description": "list", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/IncidentSummary" } } } } } } }
    },
    "/v1/team": {
      "get": { "summary": "The team file (TOML) the server was configured with.", "responses": { "200": { "description": "team file", "content": { "application/toml": {} } }, "404": { "description": "no team file configured" } } }
    },
    "/v1/openapi.json": { "get": { "summary": "This document.", "responses": { "200": { "description": "OpenAPI 3" } } } },
    "/healthz": { "get": { "security": [], "summary": "Health: the database answers (and, on Postgres, the LISTEN connection is up).", "responses": { "200": { "description": "ok: JSON status, backend, replica, database, store (the database's identity), listener" }, "503": { "description": "the database or the listener is down" } } } },
    "/metrics": { "get": { "security": [], "summary": "Prometheus text: requests, latency, events appended, stream subscribers.", "responses": { "200": { "description": "text/plain" } } } }
  }
}"##;

#[cfg(test)]
mod tests {
    #[test]
    fn spec_is_json_and_lists_every_route() {
        let v: serde_json::Value = serde_json::from_str(super::SPEC).unwrap();
        let paths = v["paths"].as_object().unwrap();
        for p in [
            "/v1/incidents/{id}/events",
            "/v1/incidents/{id}/stream",
            "/v1/incidents/{id}/presence",
            "/v1/incidents",
            "/v1/team",
            "/v1/openapi.json",
            "/healthz",
            "/metrics",
        ] {
            assert!(paths.contains_key(p), "{p} missing");
        }
    }
}
