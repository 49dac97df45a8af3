/** Lifecycle policy parsing (ECR's validation) and evaluation (ECR's rule semantics). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  evaluateLifecycle,
  LifecyclePolicyInvalid,
  parseLifecyclePolicy,
  type ImageRecord,
} from "../../../src/registry/index.js";

const DAY = 24 * 60 * 60 * 1000;
const NOW = new Date("2026-06-01T00:00:00Z");

function img(
  digest: string,
  tags: string[],
  daysAgo: number,
  referencedByIndex = false,
): ImageRecord {
  return {
    repository: "app",
    digest,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    manifestSize: 100,
    imageSize: 1000,
    pushedAt: new Date(NOW.getTime() - daysAgo * DAY),
    tags,
    referencedByIndex,
  };
}

function policy(...rules: unknown[]): string {
  return JSON.stringify({ rules });
}

function rule(priority: number, selection: Record<string, unknown>) {
  return { rulePriority: priority, selection, action: { type: "expire" } };
}

describe("parseLifecyclePolicy", () => {
  it("accepts ECR's documented examples", () => {
    const parsed = parseLifecyclePolicy(
      policy(
        rule(1, {
          tagStatus: "tagged",
          tagPrefixList: ["prod"],
          countType: "imageCountMoreThan",
          countNumber: 5,
        }),
        rule(2, {
          tagStatus: "untagged",
          countType: "sinceImagePushed",
          countUnit: "days",
          countNumber: 14,
        }),
        rule(3, { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 100 }),
      ),
    );
    assert.deepEqual(
      parsed.rules.map((r) => r.rulePriority),
      [1, 2, 3],
    );
  });

  it("refuses what ECR refuses", () => {
    const bad = [
      "not json",
      JSON.stringify({ rules: [] }),
      policy(rule(1, { tagStatus: "tagged", countType: "imageCountMoreThan", countNumber: 1 })),
      policy(
        rule(1, {
          tagStatus: "untagged",
          tagPrefixList: ["x"],
          countType: "imageCountMoreThan",
          countNumber: 1,
        }),
      ),
      policy(rule(1, { tagStatus: "any", countType: "sinceImagePushed", countNumber: 1 })),
      policy(
        rule(1, {
          tagStatus: "any",
          countType: "imageCountMoreThan",
          countUnit: "days",
          countNumber: 1,
        }),
      ),
      policy(rule(1, { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 0 })),
      policy(rule(1, { tagStatus: "sometimes", countType: "imageCountMoreThan", countNumber: 1 })),
      policy(
        rule(1, { tagStatus: "untagged", countType: "imageCountMoreThan", countNumber: 1 }),
        rule(1, { tagStatus: "untagged", countType: "imageCountMoreThan", countNumber: 2 }),
      ),
      policy(
        rule(1, { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 1 }),
        rule(2, { tagStatus: "untagged", countType: "imageCountMoreThan", countNumber: 2 }),
      ),
      JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 1 },
            action: { type: "archive" },
          },
        ],
      }),
    ];
    for (const text of bad)
      assert.throws(() => parseLifecyclePolicy(text), LifecyclePolicyInvalid, text);
  });
});

describe("evaluateLifecycle", () => {
  const images = [
    img("sha256:p1", ["prod-1"], 10),
    img("sha256:p2", ["prod-2"], 8),
    img("sha256:p3", ["prod-3", "stable"], 6),
    img("sha256:p4", ["prod-4"], 4),
    img("sha256:d1", ["dev-1"], 30),
    img("sha256:u1", [], 20),
    img("sha256:u2", [], 1),
    img("sha256:child", [], 50, true),
  ];

  it("keeps the newest N of the selected images", () => {
    const expired = evaluateLifecycle(
      parseLifecyclePolicy(
        policy(
          rule(1, {
            tagStatus: "tagged",
            tagPrefixList: ["prod"],
            countType: "imageCountMoreThan",
            countNumber: 2,
          }),
        ),
      ),
      images,
      NOW,
    );
    assert.deepEqual(expired.map((e) => e.image.digest).sort(), ["sha256:p1", "sha256:p2"]);
    assert.ok(expired.every((e) => e.rulePriority === 1));
  });

  it("expires what was pushed more than N days ago, sparing images an index references", () => {
    const expired = evaluateLifecycle(
      parseLifecyclePolicy(
        policy(
          rule(1, {
            tagStatus: "untagged",
            countType: "sinceImagePushed",
            countUnit: "days",
            countNumber: 7,
          }),
        ),
      ),
      images,
      NOW,
    );
    assert.deepEqual(
      expired.map((e) => e.image.digest),
      ["sha256:u1"],
    );
  });

  it("requires every prefix to match some tag of the image", () => {
    const expired = evaluateLifecycle(
      parseLifecyclePolicy(
        policy(
          rule(1, {
            tagStatus: "tagged",
            tagPrefixList: ["prod", "stable"],
            countType: "sinceImagePushed",
            countUnit: "days",
            countNumber: 1,
          }),
        ),
      ),
      images,
      NOW,
    );
    assert.deepEqual(
      expired.map((e) => e.image.digest),
      ["sha256:p3"],
    );
  });

  it("lets an image selected by a higher-priority rule escape lower ones", () => {
    const expired = evaluateLifecycle(
      parseLifecyclePolicy(
        policy(
          rule(1, {
            tagStatus: "tagged",
            tagPrefixList: ["prod"],
            countType: "imageCountMoreThan",
            countNumber: 10,
          }),
          rule(2, { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 1 }),
        ),
      ),
      images,
      NOW,
    );
    // prod-* are kept by rule 1; of the rest (d1, u1, u2) rule 2 keeps the newest, u2.
    assert.deepEqual(expired.map((e) => e.image.digest).sort(), ["sha256:d1", "sha256:u1"]);
    assert.ok(expired.every((e) => e.rulePriority === 2));
  });

  it("matches tagPatternList wildcards", () => {
    const expired = evaluateLifecycle(
      parseLifecyclePolicy(
        policy(
          rule(1, {
            tagStatus: "tagged",
            tagPatternList: ["*-1"],
            countType: "imageCountMoreThan",
            countNumber: 1,
          }),
        ),
      ),
      images,
      NOW,
    );
    assert.deepEqual(
      expired.map((e) => e.image.digest),
      ["sha256:d1"],
    );
  });
});
