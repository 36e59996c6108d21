import { afterEach, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES } from "./helpers/paths.js";
import { startServer, type TestServer } from "./helpers/http-server.js";
import { shAsync } from "./helpers/run.js";
import { MozDefAssetHint, MozDefCompliance, MozDefError, MozDefEvent, MozDefVulnerability, SEVERITY_WARNING } from "compliance-pipes";

const MIG = join(FIXTURES, "mig");
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("the library (import from 'compliance-pipes')", () => {
  it("builds mozdef_client's generic event, with the same fields and values", () => {
    const py = JSON.parse(readFileSync(join(MIG, "mozdef-event.generic.mozdef_client.json"), "utf8"));
    const e = new MozDefEvent("http://x/events");
    e.summary = "a test event";
    e.tags = ["generic", "test"];
    e.details = { one: 1, two: "two" };
    e.setSeverity("critical");
    const doc = e.build();
    const { timestamp, hostname, processid, processname, ...rest } = doc;
    const { timestamp: _t, hostname: _h, processid: _p, processname: _n, ...pyRest } = py;
    expect(rest).toEqual(pyRest);
    expect(timestamp).toMatch(/\+00:00$/);
    expect([typeof hostname, typeof processid, typeof processname]).toEqual(["string", "number", "string"]);
  });

  it("validates like mozdef_client, plus check.ref", () => {
    expect(() => new MozDefEvent().build()).toThrow(MozDefError);
    const py = JSON.parse(readFileSync(join(MIG, "mozdef-event.compliance.mozdef_client.json"), "utf8"));
    const c = new MozDefCompliance();
    c.summary = py.summary;
    c.details = structuredClone(py.details);
    expect(c.build().category).toBe("complianceitems");
    delete (c.details.check as Record<string, unknown>).ref;
    expect(() => c.build()).toThrow("compliance item: check.ref is required");
    c.details = { ...py.details, compliance: "yes" };
    expect(() => c.build()).toThrow("compliance must be true or false");
    const h = new MozDefAssetHint();
    h.summary = "vmintgr asset hint";
    expect(() => h.build()).toThrow("asset hint: details must not be empty");
    const v = new MozDefVulnerability();
    v.log = JSON.parse(readFileSync(join(MIG, "mozdef-event.vulnerability-v1.mozdef_client.json"), "utf8"));
    expect(v.build()).toEqual(v.log);
    delete (v.log.vuln as Record<string, unknown>).cves;
    expect(() => v.build()).toThrow("vulnerability: vuln.cves is required");
    const v2 = new MozDefVulnerability();
    v2.log = JSON.parse(readFileSync(join(MIG, "mozdef-vulnerability.v2.mozdef-test.json"), "utf8"));
    expect(() => v2.build()).not.toThrow();
    expect(() => new MozDefEvent().setSeverity("LOUD")).toThrow(MozDefError);
    expect(new MozDefEvent().setSeverity(5).severity).toBe("CRITICAL");
  });

  it("send() posts once and resolves; a failure rejects with MozDefError", async () => {
    server = await startServer((_r, n) => (n === 1 ? "500" : "ok"));
    const e = new MozDefEvent(`${server.url}/events`);
    e.summary = "from the library";
    await e.send();
    expect(server.accepted.map((q) => JSON.parse(q.body).summary)).toEqual(["from the library"]);
    const bad = new MozDefEvent(`${server.url.replace(/:\d+$/, ":1")}/events`);
    bad.summary = "nowhere";
    bad.delivery.retries = 0;
    await expect(bad.send()).rejects.toThrow(MozDefError);
  });
});

describe("the library as mozdef_client users expect it", () => {
  it("send() retries as often as the commands do (5): four 503s then success still delivers", async () => {
    server = await startServer((_r, n) => (n <= 4 ? "500" : "ok"));
    const e = new MozDefEvent(`${server.url}/events`);
    e.summary = "persistent";
    await e.send();
    expect(server.all.length).toBe(5);
    expect(server.accepted.map((q) => JSON.parse(q.body).summary)).toEqual(["persistent"]);
    const help = await shAsync("mozdef-send --help");
    expect(help.stdout).toMatch(/--retries\b.*\[default: 5\]/s);
  });

  it("has the SEVERITY_* constants (DEBUG 0 … EMERGENCY 7), on the class and as exports", () => {
    expect(new MozDefEvent().setSeverity(MozDefEvent.SEVERITY_CRITICAL).severity).toBe("CRITICAL");
    expect(new MozDefEvent().setSeverity(SEVERITY_WARNING).severity).toBe("WARNING");
    expect([MozDefEvent.SEVERITY_DEBUG, MozDefEvent.SEVERITY_INFO, MozDefEvent.SEVERITY_EMERGENCY]).toEqual([0, 1, 7]);
  });

  it("a dry run builds and validates the document, resolves with it, and sends nothing", async () => {
    server = await startServer();
    const e = new MozDefEvent(`${server.url}/events`).setDryRun(true);
    e.summary = "not sent";
    const doc = await e.send();
    expect(doc).toMatchObject({ summary: "not sent", category: "event", severity: "INFO" });
    expect(typeof doc.hostname).toBe("string");
    expect(server.all.length).toBe(0);
    await expect(new MozDefEvent().setDryRun(true).send()).rejects.toThrow("summary is required");
  });
});

/** A stand-in for SQS's JSON protocol: GetQueueUrl and SendMessageBatch. */
async function fakeSqs() {
  const messages: string[] = [];
  const s = await startServer((req) => {
    const target = String(req.headers["x-amz-target"]);
    const body = JSON.parse(req.body);
    if (target.endsWith("GetQueueUrl")) return { status: 200, headers: { "content-type": "application/x-amz-json-1.0" }, body: JSON.stringify({ QueueUrl: `http://sqs.local/123/${body.QueueName}` }) };
    if (target.endsWith("SendMessageBatch")) {
      const ok = body.Entries.map((e: { Id: string; MessageBody: string }) => {
        messages.push(e.MessageBody);
        return { Id: e.Id, MessageId: `id-${e.Id}`, MD5OfMessageBody: createHash("md5").update(e.MessageBody).digest("hex") };
      });
      return { status: 200, headers: { "content-type": "application/x-amz-json-1.0" }, body: JSON.stringify({ Successful: ok, Failed: [] }) };
    }
    return { status: 400, body: "{}" };
  });
  return { server: s, messages };
}

describe("mozdef-send to SQS (AWS SDK, endpoint overridden)", () => {
  it("sends in batches of 10 and refuses a message over 256 KiB with a clear reason", async () => {
    const sqs = await fakeSqs();
    const deadFile = join(mkdtempSync(join(tmpdir(), "sqs-")), "dead.ndjson");
    server = sqs.server;
    const input = [...Array.from({ length: 23 }, (_, i) => JSON.stringify({ summary: `sqs ${i}` })), JSON.stringify({ summary: "huge", details: { blob: "x".repeat(300 * 1024) } })].join("\n");
    const r = await shAsync(`mozdef-send --sqs-queue mozdef-events --sqs-region us-east-1 --sqs-endpoint ${server.url} --max-size 1000000 --dead-letter ${deadFile} --stats`, {
      input,
      env: { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" },
    });
    expect(r.status).toBe(1);
    const seq = (m: string) => Number(JSON.parse(m).summary.slice(4));
    expect(sqs.messages.map(seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    const dead = JSON.parse(readFileSync(deadFile, "utf8"));
    expect(dead.dead_letter.reason).toMatch(/^event of \d+ bytes is over SQS's 262144-byte message limit$/);
    expect(server.all.filter((q) => String(q.headers["x-amz-target"]).endsWith("SendMessageBatch")).length).toBe(3);
    expect(r.stderr).toMatch(/read 24, sent 23, retried 0, dead-lettered 1/);
  });
});
