// One organization's story told through openapi-fetch, typed by openapi-typescript from
// docs/openapi.json. Run by tests/sdk/run.sh next to the generated `schema.d.ts`, against a
// server at ORGD_URL: ORGD_OWNER_TOKEN creates the organization, ORGD_INVITEE_TOKEN accepts its
// invite. Every step checks the status and a field of the answer; the first wrong one stops the
// run with a non-zero exit, naming the step.

import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Problem = components["schemas"]["Problem"];

/** What every openapi-fetch call resolves to: the body of a success or of a problem. */
interface Answer<T> {
  data?: T;
  error?: Problem;
  response: Response;
}

class StepFailed extends Error {}

function environment(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

/** The body of `answer`, when it has `status`. */
function expect<T>(step: string, answer: Answer<T>, status: number): T {
  const { data, error, response } = answer;
  if (error !== undefined) throw new StepFailed(`${step}: HTTP ${response.status} ${error.code}: ${error.detail}`);
  if (response.status !== status) throw new StepFailed(`${step}: HTTP ${response.status}, expected ${status}`);
  if (data === undefined) throw new StepFailed(`${step}: no body`);
  return data;
}

function check(step: string, condition: boolean, why: string): void {
  if (!condition) throw new StepFailed(`${step}: ${why}`);
}

function client(token: string) {
  return createClient<paths>({ baseUrl: environment("ORGD_URL"), headers: { Authorization: `Bearer ${token}` } });
}

async function scenario(): Promise<number> {
  const owner = client(environment("ORGD_OWNER_TOKEN"));
  const invitee = client(environment("ORGD_INVITEE_TOKEN"));

  const name = "SDK TypeScript Org";
  const org = expect("create the organization", await owner.POST("/v1/orgs", { body: { name } }), 201);
  check("create the organization", org.name === name && org.id.startsWith("org_"), `got ${org.name} ${org.id}`);
  const path = { org: org.id };

  const invite = expect(
    "create a link invite",
    await owner.POST("/v1/orgs/{org}/invites", { params: { path }, body: { role: "member", max_uses: 1 } }),
    201,
  );
  check("create a link invite", invite.token.startsWith("orgi_") && invite.status === "pending", invite.status);

  const accepted = expect(
    "accept the invite",
    await invitee.POST("/v1/invites/{token}/accept", { params: { path: { token: invite.token } } }),
    200,
  );
  check("accept the invite", accepted.organization.id === org.id && accepted.role === "member", accepted.role);
  const member = accepted.member_id;

  const team = expect(
    "create a team",
    await owner.POST("/v1/orgs/{org}/teams", { params: { path }, body: { name: "Platform" } }),
    201,
  );
  check("create a team", team.name === "Platform" && team.member_count === 0, `${team.member_count} members`);
  const teamPath = { org: org.id, team: team.id };

  const added = expect(
    "add the invitee to the team",
    await owner.POST("/v1/orgs/{org}/teams/{team}/members", { params: { path: teamPath }, body: { member_id: member } }),
    201,
  );
  check("add the invitee to the team", added.id === member && !added.is_manager, `${added.id} ${added.is_manager}`);

  const manager = expect(
    "make the invitee the team's manager",
    await owner.PUT("/v1/orgs/{org}/teams/{team}/members/{member}/manager", {
      params: { path: { ...teamPath, member } },
      body: { is_manager: true },
    }),
    200,
  );
  check("make the invitee the team's manager", manager.is_manager, "is_manager is false");

  const promoted = expect(
    "make the invitee an admin",
    await owner.PATCH("/v1/orgs/{org}/members/{member}", { params: { path: { org: org.id, member } }, body: { role: "admin" } }),
    200,
  );
  check("make the invitee an admin", promoted.role === "admin", promoted.role);

  const networks = ["127.0.0.0/8", "::1/128"];
  const written = expect(
    "set the security policy",
    await owner.PUT("/v1/orgs/{org}/security-policy", {
      params: { path, header: { "If-Match": "*" } },
      body: { ip_allowlist: networks, max_session_age_secs: 86_400 },
    }),
    200,
  );
  const allowlist = written.policy.ip_allowlist;
  check("set the security policy", written.applied && allowlist.join() === networks.join(), allowlist.join());

  const usage = expect(
    "record usage",
    await owner.POST("/v1/orgs/{org}/usage", {
      params: { path },
      body: { idempotency_key: "sdk-typescript-1", amount_micros: 1_250_000, model: "gpt-4o" },
    }),
    201,
  );
  check("record usage", usage.amount_micros === 1_250_000 && usage.id.startsWith("use_"), usage.id);

  const spend = expect("read the spend posture", await owner.GET("/v1/orgs/{org}/spend", { params: { path } }), 200);
  check("read the spend posture", spend.spend_micros === 1_250_000 && spend.posture === "ok", spend.posture);

  const log = expect("read the audit log", await owner.GET("/v1/orgs/{org}/audit-log", { params: { path } }), 200);
  const changed = log.data.filter((e) => e.action === "member.role_changed" && e.target.id === member);
  check("read the audit log", changed.length === 1, `${changed.length} member.role_changed records`);
  const role = changed[0]?.changes["role"];
  check("read the audit log", role?.from === "member" && role.to === "admin", JSON.stringify(role));

  const verified = expect(
    "verify the audit log",
    await owner.GET("/v1/orgs/{org}/audit-log/verify", { params: { path } }),
    200,
  );
  const newest = log.data[0]?.seq;
  check("verify the audit log", verified.ok && verified.complete, `ok=${verified.ok} complete=${verified.complete}`);
  check("verify the audit log", verified.head_seq === newest, `head ${verified.head_seq}, newest record ${newest}`);
  return 12;
}

const started = performance.now();
try {
  const steps = await scenario();
  const elapsed = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`sdk-check: typescript client (openapi-typescript + openapi-fetch): ${steps} steps passed in ${elapsed} s`);
} catch (failure) {
  if (!(failure instanceof StepFailed)) throw failure;
  console.error(`sdk-check: typescript client FAILED at ${failure.message}`);
  process.exitCode = 1;
}
