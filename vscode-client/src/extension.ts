// Starts acolyte-lsp for the workspace and gives it commands, a status bar item and an output channel.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { ExecuteCommandRequest, LanguageClient, LanguageClientOptions, TransportKind } from "vscode-languageclient/node";
import { INSTALL_HELP, Probes, resolveServerCommand, ServerNotFound } from "./serverCommand";
import { Hit, hitItem } from "./searchHits";
import { initializationOptions, Tree } from "./settings";
import { IndexStatus, statusBarText } from "./status";

let client: LanguageClient | undefined;
let statusItem: vscode.StatusBarItem;
let output: vscode.LogOutputChannel;
let poll: NodeJS.Timeout | undefined;

const probes: Probes = {
  onPath(name) {
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
      const candidate = path.join(dir, name);
      if (dir && existsSync(candidate)) {
        return candidate;
      }
    }
    return undefined;
  },
  pythonHasServer(python) {
    try {
      execFileSync(python, ["-c", "import acolyte_lsp"], { stdio: "ignore", timeout: 10000 });
      return true;
    } catch {
      return false;
    }
  },
};

async function serverCommand(command: string, args?: unknown[]): Promise<unknown> {
  if (!client) {
    throw new Error("acolyte-lsp is not running");
  }
  return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
}

async function refreshStatus(): Promise<void> {
  let status: IndexStatus | undefined;
  try {
    status = client ? ((await serverCommand("acolyte.indexStatus")) as IndexStatus) : undefined;
  } catch {
    status = undefined;
  }
  const { text, tooltip } = statusBarText(status);
  statusItem.text = text;
  statusItem.tooltip = tooltip;
}

/** The interpreter selected in the Python extension, when it is installed; else `acolyte.server.python`. */
async function chosenPython(config: vscode.WorkspaceConfiguration): Promise<string> {
  const configured = config.get<string>("server.python") ?? "python3";
  const python = vscode.extensions.getExtension("ms-python.python");
  // In Restricted Mode the Python extension's interpreter may be the repository's own: never run it.
  if (!python || !vscode.workspace.isTrusted || config.inspect("server.python")?.globalValue !== undefined) {
    return configured;
  }
  try {
    type PythonApi = { environments?: { getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } } };
    const api = (await python.activate()) as PythonApi;
    return api.environments?.getActiveEnvironmentPath(vscode.workspace.workspaceFolders?.[0]?.uri)?.path || configured;
  } catch {
    return configured;
  }
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  const config = vscode.workspace.getConfiguration("acolyte");
  let resolved;
  try {
    resolved = resolveServerCommand(config.get<string[]>("server.command") ?? [], await chosenPython(config), probes);
  } catch (err) {
    if (err instanceof ServerNotFound) {
      output.appendLine(err.message);
      const choice = await vscode.window.showErrorMessage(`ACOLYTE: ${err.message}`, "How to install");
      if (choice) {
        output.appendLine(INSTALL_HELP);
        output.show();
      }
      return;
    }
    throw err;
  }
  output.appendLine(`Starting ${resolved.command} ${resolved.args.join(" ")} (${resolved.how})`);
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file" }],
    // A function: a restart after the user trusts the workspace sends the new trust state.
    initializationOptions: () =>
      initializationOptions(vscode.workspace.getConfiguration().get<Tree>("acolyte") ?? {}, vscode.workspace.isTrusted),
    synchronize: { configurationSection: "acolyte" },
    outputChannel: output,
  };
  client = new LanguageClient(
    "acolyte",
    "ACOLYTE",
    { command: resolved.command, args: resolved.args, transport: TransportKind.stdio },
    clientOptions,
  );
  try {
    await client.start();
  } catch (err) {
    output.error(`acolyte-lsp did not start: ${String(err)}`);
    void vscode.window.showErrorMessage(`ACOLYTE: acolyte-lsp did not start (${resolved.how}). See the ACOLYTE output.`, "Show output")
      .then((choice) => choice && output.show());
    return;
  }
  poll = setInterval(() => void refreshStatus(), 3000);
  context.subscriptions.push({ dispose: () => poll && clearInterval(poll) });
  void refreshStatus();
}

async function search(): Promise<void> {
  const query = await vscode.window.showInputBox({ prompt: "Search code by meaning", placeHolder: "where do we retry failed batches" });
  if (!query) {
    return;
  }
  const hits = (await serverCommand("acolyte.search", [{ query, limit: 30 }])) as Hit[];
  const picked = await vscode.window.showQuickPick(
    hits.map((hit) => hitItem(hit, vscode.workspace.asRelativePath(vscode.Uri.parse(hit.uri)))),
    { matchOnDescription: true, placeHolder: `${hits.length} results for “${query}”` },
  );
  if (picked) {
    const line = picked.hit.range.start.line;
    await vscode.window.showTextDocument(vscode.Uri.parse(picked.hit.uri), { selection: new vscode.Range(line, 0, line, 0) });
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("ACOLYTE", { log: true });
  statusItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 10);
  statusItem.command = "acolyte.client.showStatus";
  statusItem.show();
  context.subscriptions.push(
    output,
    statusItem,
    vscode.commands.registerCommand("acolyte.client.reindexWorkspace", async () => {
      await serverCommand("acolyte.reindexWorkspace", [{ force: false }]);
      await refreshStatus();
    }),
    vscode.commands.registerCommand("acolyte.client.reindexFile", async () => {
      const uri = vscode.window.activeTextEditor?.document.uri;
      if (uri) {
        await serverCommand("acolyte.reindexFile", [uri.toString()]);
      }
    }),
    vscode.commands.registerCommand("acolyte.client.showStatus", async () => {
      const status = await serverCommand("acolyte.indexStatus");
      output.appendLine(JSON.stringify(status, null, 2));
      output.show();
    }),
    vscode.commands.registerCommand("acolyte.client.search", search),
    vscode.commands.registerCommand("acolyte.client.restart", async () => {
      await client?.restart();
      await refreshStatus();
    }),
  );
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(async () => {
      output.appendLine("Workspace trusted: restarting acolyte-lsp with the folder's .acolyte settings");
      await client?.restart();
    }),
  );
  await start(context);
}

export async function deactivate(): Promise<void> {
  if (poll) {
    clearInterval(poll);
  }
  await client?.stop();
}
