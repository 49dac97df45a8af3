/** The bill as a person reads it: largest first, cents, a total rounded from the exact sum. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseAmount, renderBill } from "../../../src/billing/index.js";

const rows = [
  { label: "beta", amount: parseAmount("0.004") },
  { label: "alpha", amount: parseAmount("1.234") },
  { label: "gamma, inc", amount: parseAmount("0.004") },
];

describe("renderBill", () => {
  it("prints a table with the total of the exact amounts", () => {
    assert.equal(
      renderBill(rows, { format: "table", by: "TEAM", title: "Bill" }),
      [
        "Bill",
        "",
        "TEAM        COST (USD)   SHARE",
        "alpha             1.23   99.4%",
        "beta              0.00    0.3%",
        "gamma, inc        0.00    0.3%",
        "------------------------------",
        // 1.242 exactly: the rows show 1.23 + 0.00 + 0.00, the total is rounded from the sum.
        "TOTAL             1.24  100.0%",
        "",
      ].join("\n"),
    );
  });

  it("writes CSV, quoting what needs it", () => {
    assert.equal(
      renderBill(rows, { format: "csv", by: "TEAM" }),
      'team,cost_usd,share\nalpha,1.23,99.4%\nbeta,0.00,0.3%\n"gamma, inc",0.00,0.3%\nTOTAL,1.24,100.0%\n',
    );
  });

  it("prints an empty bill as a zero total", () => {
    assert.match(renderBill([], { format: "table", by: "TEAM" }), /TOTAL\s+0\.00\s+-/);
  });
});
