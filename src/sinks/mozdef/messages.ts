import { hostname as shortHostname } from "node:os";
import { MozDefError } from "./error.js";
import * as severity from "./severity.js";
import { toSeverity, type MozDefSeverity } from "./severity.js";
import { processName, resolveFqdn } from "./host.js";
import { sendMessage, type DeliverySettings } from "./send.js";
import { DEFAULT_RETRIES, DEFAULT_TIMEOUT_S } from "../../delivery/http.js";
import { isoTimestamp } from "../../util/time.js";
import type { ComplianceItem, Json } from "../../types.js";

/** What a message fills in that it cannot know by itself: this host's name (see resolveFqdn()). */
export interface MessageContext {
  hostname: string;
}

/** Base of every message: delivery settings and the mozdef_client setters. */
export abstract class MozDefMessage {
  readonly delivery: DeliverySettings;

  constructor(url?: string) {
    this.delivery = { url, verify: true, syslog: { enabled: false, only: false }, sqs: { enabled: false }, timeoutMs: DEFAULT_TIMEOUT_S * 1000, retries: DEFAULT_RETRIES, dryRun: false };
  }

  /** send() validates and builds the document but sends nothing. */
  setDryRun(flag: boolean): this {
    this.delivery.dryRun = flag;
    return this;
  }

  setVerify(flag: boolean): this {
    this.delivery.verify = flag;
    return this;
  }
  /** Verify against this CA file. */
  setVerifyPath(path: string): this {
    this.delivery.verify = path;
    return this;
  }
  setSendToSyslog(flag: boolean, onlySyslog = false): this {
    this.delivery.syslog = { enabled: flag, only: flag && onlySyslog };
    return this;
  }
  setSendToSqs(flag: boolean): this {
    this.delivery.sqs.enabled = flag;
    return this;
  }
  setSqsQueueName(name: string): this {
    this.delivery.sqs.queue = name;
    return this;
  }
  setSqsRegion(region: string): this {
    this.delivery.sqs.region = region;
    return this;
  }
  setSqsAwsAccountId(id: string): this {
    this.delivery.sqs.accountId = id;
    return this;
  }

  /** Throws MozDefError when the message would not be accepted. */
  abstract validate(): void;
  /** The document as it goes on the wire. */
  abstract construct(ctx: MessageContext): Json;

  /**
   * Validated, constructed document. An event without its own hostname gets
   * `ctx.hostname`: by default the plain host name, as build() cannot wait for
   * DNS; send() passes the FQDN.
   */
  build(ctx: MessageContext = { hostname: shortHostname() }): Json {
    this.validate();
    return this.construct(ctx);
  }

  /**
   * Sends through HTTP, syslog and/or SQS as set; resolves with the document
   * once every transport acknowledged it (at once, unsent, in a dry run).
   */
  async send(): Promise<Json> {
    const doc = this.build({ hostname: await resolveFqdn() });
    if (!this.delivery.dryRun) await sendMessage(doc, this.delivery);
    return doc;
  }
}

/** A generic MozDef event with mozdef_client's defaults. */
export class MozDefEvent extends MozDefMessage {
  static readonly SEVERITY_DEBUG = severity.SEVERITY_DEBUG;
  static readonly SEVERITY_INFO = severity.SEVERITY_INFO;
  static readonly SEVERITY_NOTICE = severity.SEVERITY_NOTICE;
  static readonly SEVERITY_WARNING = severity.SEVERITY_WARNING;
  static readonly SEVERITY_ERROR = severity.SEVERITY_ERROR;
  static readonly SEVERITY_CRITICAL = severity.SEVERITY_CRITICAL;
  static readonly SEVERITY_ALERT = severity.SEVERITY_ALERT;
  static readonly SEVERITY_EMERGENCY = severity.SEVERITY_EMERGENCY;

  summary?: string;
  tags: unknown[] = [];
  details: Json = {};
  /** ISO 8601 with offset; now when unset. */
  timestamp?: string;
  source: string | null = null;
  category = "event";
  severity: MozDefSeverity = "INFO";
  /** This host's when unset (see build()). */
  hostname?: string;
  processid: number = process.pid;
  processname = processName();
  /** Other top-level fields of a record, sent after the standard ones. */
  extra: Json = {};

  setSeverity(value: string | number): this {
    this.severity = toSeverity(value);
    return this;
  }
  setCategory(category: string): this {
    this.category = category;
    return this;
  }
  setSource(source: string | null): this {
    this.source = source;
    return this;
  }

  validate(): void {
    if (typeof this.summary !== "string" || !this.summary.trim()) throw new MozDefError("summary is required");
    if (!Array.isArray(this.tags)) throw new MozDefError("tags must be a list");
    if (!isObject(this.details)) throw new MozDefError("details must be an object");
    if (typeof this.category !== "string" || !this.category) throw new MozDefError("category must be a non-empty string");
  }

  /** gozdef's key order: timestamp, category, hostname, processid, processname, severity, source, summary, tags, details. */
  construct(ctx: MessageContext): Json {
    return {
      timestamp: this.timestamp ?? isoTimestamp(),
      category: this.category,
      hostname: this.hostname ?? ctx.hostname,
      processid: this.processid,
      processname: this.processname,
      severity: this.severity,
      source: this.source,
      summary: this.summary,
      tags: this.tags,
      details: this.details,
      ...this.extra,
    };
  }

  /** Takes a record's fields; absent ones keep the defaults. Throws MozDefError on wrong types. */
  assign(record: Json): this {
    for (const [key, value] of Object.entries(record)) {
      switch (key) {
        case "timestamp":
          if (typeof value !== "string" || Number.isNaN(Date.parse(value))) throw new MozDefError("timestamp must be an ISO 8601 date-time");
          this.timestamp = value;
          break;
        case "severity":
          this.setSeverity(value as string);
          break;
        case "summary":
          if (typeof value !== "string") throw new MozDefError("summary must be a string");
          this.summary = value;
          break;
        case "tags":
          if (!Array.isArray(value)) throw new MozDefError("tags must be a list");
          this.tags = value;
          break;
        case "details":
          if (!isObject(value)) throw new MozDefError("details must be an object");
          this.details = value;
          break;
        case "category":
          if (typeof value !== "string") throw new MozDefError("category must be a string");
          this.category = value;
          break;
        case "source":
          if (typeof value !== "string" && value !== null) throw new MozDefError("source must be a string");
          this.source = value;
          break;
        case "hostname":
        case "processname":
          if (typeof value !== "string") throw new MozDefError(`${key} must be a string`);
          this[key] = value;
          break;
        case "processid":
          if (typeof value !== "number" && typeof value !== "string") throw new MozDefError("processid must be a number");
          this.processid = Number(value);
          break;
        default:
          this.extra[key] = value;
      }
    }
    return this;
  }
}

/** `complianceitems` event: details validated as mozdef_client does, plus check.ref (MozDef's plugin needs it). */
export class MozDefCompliance extends MozDefEvent {
  override category = "complianceitems";

  override validate(): void {
    super.validate();
    validateComplianceItem(this.details);
  }

  /** The envelope MIG's runner-compliance plugin put around each item. */
  static fromItem(item: ComplianceItem | Json, url?: string): MozDefCompliance {
    const event = new MozDefCompliance(url);
    // validated with the event, in validate()
    const i = item as Partial<ComplianceItem>;
    event.source = "mig";
    event.tags = ["mig", "compliance"];
    event.summary = `${i.target} ${i.compliance ? "passes" : "fails"} compliance with ${i.check?.ref}`;
    event.details = item as Json;
    return event;
  }
}

/** mozdef_client's compliance check, with types, and check.ref required. */
export function validateComplianceItem(d: unknown): void {
  const need = (obj: unknown, keys: string[], where: string) => {
    if (!isObject(obj)) throw new MozDefError(`compliance item: ${where || "details"} must be an object`);
    for (const k of keys) if (!(k in obj)) throw new MozDefError(`compliance item: ${where ? `${where}.` : ""}${k} is required`);
  };
  need(d, ["target", "policy", "check", "compliance", "link", "utctimestamp"], "");
  const item = d as Json;
  need(item.policy, ["level", "name", "url"], "policy");
  need(item.check, ["description", "location", "name", "test", "ref"], "check");
  need((item.check as Json).test, ["type", "value"], "check.test");
  if (typeof item.compliance !== "boolean") throw new MozDefError("compliance item: compliance must be true or false");
  if (typeof item.target !== "string" || !item.target) throw new MozDefError("compliance item: target must be a non-empty string");
}

/** `asset_hint` event: summary and non-empty details. */
export class MozDefAssetHint extends MozDefEvent {
  override category = "asset_hint";

  override validate(): void {
    super.validate();
    if (!Object.keys(this.details).length) throw new MozDefError("asset hint: details must not be empty");
  }
}

const V1_TOP = ["utctimestamp", "description", "vuln", "asset", "sourcename"];
const V1_ASSET = ["assetid", "ipv4address", "hostname", "macaddress"];
const V1_VULN = ["status", "vulnid", "title", "discovery_time", "age_days", "known_malware", "known_exploits", "cvss", "cves"];

/** A vulnerability document, sent as is (mozdef_client adds nothing to it). v1 checked as mozdef_client, v2 as MozDef's plugin. */
export class MozDefVulnerability extends MozDefMessage {
  log: Json = {};

  validate(): void {
    const log = this.log;
    if (log.version === 2) {
      for (const k of ["utctimestamp", "description", "sourcename", "zone"]) if (!log[k]) throw new MozDefError(`vulnerability v2: ${k} is required`);
      const asset = log.asset as Json;
      if (!isObject(asset) || !asset.hostname || !asset.ipaddress) throw new MozDefError("vulnerability v2: asset.hostname and asset.ipaddress are required");
      return;
    }
    for (const k of V1_TOP) if (!(k in log)) throw new MozDefError(`vulnerability: ${k} is required`);
    for (const k of V1_ASSET) if (!isObject(log.asset) || !(k in log.asset)) throw new MozDefError(`vulnerability: asset.${k} is required`);
    for (const k of V1_VULN) if (!isObject(log.vuln) || !(k in log.vuln)) throw new MozDefError(`vulnerability: vuln.${k} is required`);
  }

  construct(): Json {
    return this.log;
  }
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

