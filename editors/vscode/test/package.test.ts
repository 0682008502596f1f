import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

import { isClientKey } from "../src/settings";

const root = path.join(__dirname, "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
const props: Record<string, Record<string, unknown>> = pkg.contributes.configuration.properties;

describe("package.json", () => {
  it("points main at the compiled extension", () => {
    assert.ok(fs.existsSync(path.join(root, pkg.main)), `${pkg.main} missing: run npm run build`);
  });

  it("has what vsce needs to package without prompting", () => {
    assert.ok(pkg.publisher);
    assert.ok(pkg.repository?.url);
    assert.equal(pkg.license, "MIT");
    assert.ok(fs.existsSync(path.join(root, "LICENSE")));
    assert.ok(fs.existsSync(path.join(root, "README.md")));
  });

  it("declares @types/vscode matching engines.vscode", () => {
    const engine = pkg.engines.vscode.replace(/^[\^~]/, "");
    const types = pkg.devDependencies["@types/vscode"].replace(/^[\^~]/, "");
    assert.equal(types, engine);
  });

  it("describes every setting, with a default, under mira.", () => {
    for (const [key, prop] of Object.entries(props)) {
      assert.ok(key.startsWith("mira."), key);
      assert.ok(typeof prop.description === "string" && prop.description.length > 10, key);
      assert.ok("default" in prop, key);
      assert.ok(prop.type, key);
    }
  });

  it("keeps the executable settings out of workspace control", () => {
    for (const key of ["mira.server.path", "mira.server.pythonPath", "mira.server.logFile"]) {
      assert.equal(props[key].scope, "machine", key);
      assert.ok(isClientKey(key));
    }
  });

  it("lists the client's trace setting under the language client's id", () => {
    assert.deepEqual(props["mira.trace.server"].enum, ["off", "messages", "verbose"]);
  });

  it("runs in Restricted Mode and leaves the trust to VS Code, not to a setting", () => {
    assert.equal(pkg.capabilities.untrustedWorkspaces.supported, "limited");
    assert.match(pkg.capabilities.untrustedWorkspaces.description, /git\.trustRepositoryConfig/);
    assert.ok(!("mira.git.trustRepositoryConfig" in props), "the trust comes from workspace trust");
  });
});
