/**
 * The registry: repositories, then one repository's images with tags, sizes and push times, and
 * its lifecycle policy's result (what it would expire now, as GetLifecyclePolicyPreview says).
 */
import { BASE, ECR, listAll, useLive } from "../api.js";
import { LifecyclePolicy } from "./lifecycle.js";
import { Failure, Loading, Page, Table } from "../components.js";
import { bytes, when } from "../format.js";

interface Repository {
  repositoryName: string;
  repositoryUri: string;
  createdAt: number;
  imageTagMutability: string;
}

interface Image {
  imageDigest: string;
  imageTags?: string[];
  imageSizeInBytes?: number;
  imagePushedAt?: number;
  lastRecordedPullTime?: number;
  imageManifestMediaType?: string;
}

export function RegistryPage() {
  const { data, error } = useLive(
    () => listAll<Repository>(`${ECR}.DescribeRepositories`, {}, "repositories"),
    [],
    (change) => change.kinds.includes("registry"),
  );
  return (
    <Page title="Registry">
      <Failure error={error} />
      {data === undefined ? (
        <Loading what="repositories" />
      ) : data.length === 0 ? (
        <p class="muted">No repositories yet: push an image with podman or skopeo.</p>
      ) : (
        <Table caption="Repositories" columns={["Repository", "URI", "Tags", "Created"]}>
          {data.map((r) => (
            <tr key={r.repositoryName}>
              <td>
                <a href={`${BASE}/registry/${r.repositoryName}`}>{r.repositoryName}</a>
              </td>
              <td class="mono">{r.repositoryUri}</td>
              <td>{r.imageTagMutability}</td>
              <td>{when(r.createdAt)}</td>
            </tr>
          ))}
        </Table>
      )}
    </Page>
  );
}

export function RepositoryPage(props: { repository: string }) {
  const name = props.repository;
  const images = useLive(
    () => listAll<Image>(`${ECR}.DescribeImages`, { repositoryName: name }, "imageDetails"),
    [name],
    (change) => change.kinds.includes("registry"),
  );
  const sorted = [...(images.data ?? [])].sort(
    (a, b) => (b.imagePushedAt ?? 0) - (a.imagePushedAt ?? 0),
  );
  return (
    <Page title={`Repository ${name}`}>
      <Failure error={images.error} />
      {images.data === undefined ? (
        <Loading what="images" />
      ) : (
        <Table
          caption={`Images of ${name}`}
          columns={["Tags", "Digest", { label: "Size", class: "num" }, "Pushed", "Last pulled"]}
          testid="images"
        >
          {sorted.map((i) => (
            <tr key={i.imageDigest}>
              <td>{(i.imageTags ?? []).join(", ") || <span class="muted">untagged</span>}</td>
              <td class="mono" title={i.imageDigest}>
                {i.imageDigest.slice(0, 19)}…
              </td>
              <td class="num">{bytes(i.imageSizeInBytes)}</td>
              <td>{when(i.imagePushedAt)}</td>
              <td>{when(i.lastRecordedPullTime)}</td>
            </tr>
          ))}
        </Table>
      )}
      <LifecyclePolicy repository={name} />
    </Page>
  );
}
