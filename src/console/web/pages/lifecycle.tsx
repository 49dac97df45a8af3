/**
 * A repository's lifecycle policy and its result: the policy in force with when it was last
 * applied, and a preview (StartLifecyclePolicyPreview, then GetLifecyclePolicyPreview) of what
 * a policy would expire now, the one in force or test rules typed here, as ECR's console offers.
 */
import { useState } from "preact/hooks";
import { ApiError, ECR, aws, useActions, useLive } from "../api.js";
import { Failure, Table } from "../components.js";
import { when } from "../format.js";

interface Policy {
  lifecyclePolicyText: string;
  lastEvaluatedAt?: number;
}

interface Preview {
  lifecyclePolicyText: string;
  status: string;
  previewResults: {
    imageDigest: string;
    imageTags?: string[];
    imagePushedAt?: number;
    appliedRulePriority?: number;
    action?: { type: string };
  }[];
  summary?: { expiringImageTotalCount?: number };
}

/** The answer, or undefined for the named "there is none" error. */
async function unlessMissing<T>(call: Promise<T>, missing: string): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ApiError && error.code === missing) return undefined;
    throw error;
  }
}

async function load(repositoryName: string): Promise<{ policy?: Policy; preview?: Preview }> {
  const policy = await unlessMissing(
    aws<Policy>(`${ECR}.GetLifecyclePolicy`, { repositoryName }),
    "LifecyclePolicyNotFoundException",
  );
  const preview = await unlessMissing(
    aws<Preview>(`${ECR}.GetLifecyclePolicyPreview`, { repositoryName, maxResults: 100 }),
    "LifecyclePolicyPreviewNotFoundException",
  );
  return {
    ...(policy === undefined ? {} : { policy }),
    ...(preview === undefined ? {} : { preview }),
  };
}

export function LifecyclePolicy(props: { repository: string }) {
  const repositoryName = props.repository;
  const { data, error, reload } = useLive(
    () => load(repositoryName),
    [repositoryName],
    (change) => change.kinds.includes("registry"),
  );
  const [text, setText] = useState<string | undefined>(undefined);
  const { busy, error: actionError, act } = useActions(reload);
  const shown = text ?? data?.policy?.lifecyclePolicyText ?? "";
  const preview = (): void =>
    act("preview", () =>
      aws(`${ECR}.StartLifecyclePolicyPreview`, {
        repositoryName,
        ...(shown.trim() === "" ? {} : { lifecyclePolicyText: shown }),
      }),
    );
  const p = data?.preview;
  return (
    <section aria-labelledby="lifecycle-title">
      <h2 id="lifecycle-title">Lifecycle policy</h2>
      <Failure error={actionError ?? error} />
      {data === undefined ? null : data.policy === undefined ? (
        <p class="muted" data-testid="lifecycle-policy">
          No lifecycle policy: nothing expires.
        </p>
      ) : (
        <p data-testid="lifecycle-policy">
          A policy is in force; last applied {when(data.policy.lastEvaluatedAt)} (Berth applies it
          when it is set and after every push).
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          preview();
        }}
      >
        <label class="block">
          Policy to preview (JSON; empty: the one in force)
          <textarea
            name="lifecyclePolicyText"
            rows={4}
            value={shown}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy !== undefined}>
          Preview
        </button>
      </form>
      {p === undefined ? null : (
        <>
          <p data-testid="lifecycle-summary">
            {p.status === "COMPLETE" ? "" : `${p.status}: `}
            {p.summary?.expiringImageTotalCount ?? p.previewResults.length} image(s) would expire
            {p.lifecyclePolicyText === data?.policy?.lifecyclePolicyText
              ? " under the policy in force"
              : " under the previewed rules"}
            .
          </p>
          <Table
            caption="Images the policy would expire"
            columns={["Tags", "Digest", "Pushed", "Rule", "Action"]}
            testid="lifecycle-preview"
          >
            {p.previewResults.map((r) => (
              <tr key={r.imageDigest}>
                <td>{(r.imageTags ?? []).join(", ") || <span class="muted">untagged</span>}</td>
                <td class="mono" title={r.imageDigest}>
                  {r.imageDigest.slice(0, 19)}…
                </td>
                <td>{when(r.imagePushedAt)}</td>
                <td>{r.appliedRulePriority ?? ""}</td>
                <td>{r.action?.type ?? ""}</td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </section>
  );
}
