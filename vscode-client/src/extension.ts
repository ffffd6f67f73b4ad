// Starts acolyte-lsp for the open workspace and forwards the editor's acolyte.* settings
// as initializationOptions (the same keys as the .acolyte file).
import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;

/** Settings set in the editor, nested like `.acolyte` (unset values are left out). */
export function initializationOptions(config: vscode.WorkspaceConfiguration): Record<string, unknown> {
  const options: Record<string, Record<string, unknown>> = {};
  const pairs: Array<[string, string, string]> = [
    ["weaviate", "url", "weaviate.url"],
    ["search", "weaviate_batch_size", "search.weaviate_batch_size"],
  ];
  for (const [section, key, setting] of pairs) {
    const value = config.get(setting);
    if (value !== null && value !== undefined) {
      options[section] = { ...(options[section] ?? {}), [key]: value };
    }
  }
  return options;
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const config = vscode.workspace.getConfiguration("acolyte");
  const [command, ...args] = config.get<string[]>("server.command") ?? ["acolyte-lsp"];
  const serverOptions: ServerOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file" }],
    initializationOptions: initializationOptions(config),
    outputChannelName: "ACOLYTE",
  };
  // The client registers the server's commands (acolyte.reindexWorkspace, …) itself;
  // package.json only gives them palette titles.
  client = new LanguageClient("acolyte", "ACOLYTE", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    void vscode.window.showErrorMessage(
      `ACOLYTE: could not start "${command}": ${String(err)}. Install it with "pip install acolyte-lsp" ` +
        "or set acolyte.server.command.",
    );
  }
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
