/**
 * One CA for every server of a store. Agents pin the CA whose hash their join line carries and
 * move between the servers of one store (`--server A,B,C`), so every server must serve a
 * certificate from that CA: the first server to start puts its CA in the store, and every
 * server (itself included, at each start) writes the stored one into its `<data-dir>/pki`
 * before anything reads it there. The private key is in the store like the tenants' secrets:
 * whoever reads the database owns Berth anyway.
 */
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureCertificateAuthority } from "../core/index.js";
import type { Store } from "../store/index.js";

const ID = "berth";

export async function shareCertificateAuthority(store: Store, pkiDir: string): Promise<void> {
  const stored = async () =>
    store
      .selectFrom("certificate_authority")
      .select(["certificate", "private_key"])
      .where("id", "=", ID)
      .executeTakeFirst();
  let row = await stored();
  if (row === undefined) {
    const local = await ensureCertificateAuthority(pkiDir);
    await store
      .insertInto("certificate_authority")
      .values({
        id: ID,
        certificate: local.certificatePem,
        private_key: await readFile(local.keyPath, "utf8"),
      })
      .onConflict((oc) => oc.column("id").doNothing())
      .execute();
    row = await stored();
    if (row === undefined) throw new Error("the store lost the CA it was just given");
  }
  const local = await ensureCertificateAuthority(pkiDir);
  if (local.certificatePem === row.certificate) return;
  // Another server's CA won: take it, and drop the serving certificates the old one signed
  // (their `.san` files going makes issueServingCertificate sign new ones).
  await writeFile(local.keyPath, row.private_key, { mode: 0o600 });
  await writeFile(local.certPath, row.certificate, { mode: 0o600 });
  for (const name of await readdir(pkiDir))
    if (name.endsWith(".san")) await rm(join(pkiDir, name), { force: true });
}
