/**
 * The Kubernetes API's own HTTPS listener: one for every EKS cluster, each under its own path
 * (`https://HOST:PORT/clusters/NAME`, the endpoint DescribeCluster returns), with a serving
 * certificate from Berth's CA. Its port is kept in the data dir, so kubeconfigs stay valid
 * after a restart when the port is still free.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { join } from "node:path";
import {
  ensureCertificateAuthority,
  issueServingCertificate,
  type CertificateAuthority,
  type Logger,
} from "../core/index.js";

export interface KubeListenerOptions {
  dataDir: string;
  host: string;
  /** 0: the port used last time if free, else any. */
  port: number;
  log: Logger;
  onRequest(req: IncomingMessage, res: ServerResponse): void;
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export class KubeListener {
  #server: Server | undefined;
  #ca: CertificateAuthority | undefined;
  #origin = "";

  constructor(private readonly options: KubeListenerOptions) {}

  /** `https://HOST:PORT`, once started. */
  get origin(): string {
    return this.#origin;
  }

  /** Base64 of the CA's PEM, as EKS's `certificateAuthority.data`. */
  get certificateAuthorityData(): string {
    return Buffer.from(this.#ca?.certificatePem ?? "").toString("base64");
  }

  async start(): Promise<void> {
    const dir = join(this.options.dataDir, "pki");
    this.#ca = await ensureCertificateAuthority(dir);
    const host = this.options.host === "0.0.0.0" ? "127.0.0.1" : this.options.host;
    const names = [...new Set([host, "127.0.0.1", "localhost"])];
    const serving = await issueServingCertificate(this.#ca, dir, "kube-apiserver", names);
    const server = createServer({ cert: serving.certificatePem, key: serving.keyPem }, (req, res) =>
      this.options.onRequest(req, res),
    );
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.options.onUpgrade(req, socket, head),
    );
    server.on("tlsClientError", () => undefined);
    server.keepAliveTimeout = 65_000;
    const portFile = join(this.options.dataDir, "kube", "port");
    const remembered =
      this.options.port !== 0
        ? this.options.port
        : Number((await readFile(portFile, "utf8").catch(() => "0")).trim()) || 0;
    const listen = (port: number) =>
      new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, this.options.host, () => {
          server.off("error", reject);
          resolve();
        });
      });
    try {
      await listen(remembered);
    } catch (error) {
      if (this.options.port !== 0 || remembered === 0) throw error;
      await listen(0);
    }
    const port = (server.address() as AddressInfo).port;
    await mkdir(join(this.options.dataDir, "kube"), { recursive: true, mode: 0o700 });
    await writeFile(portFile, String(port), { mode: 0o600 });
    this.#server = server;
    const shown = host.includes(":") ? `[${host}]` : host;
    this.#origin = `https://${shown}:${port}`;
    this.options.log.info("kubernetes api listening", { origin: this.#origin });
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
