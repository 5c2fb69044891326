import { describe, expect, it } from "vitest";
import { ApiError } from "../../../api/client";
import { makePromptTemplate, makeStrategy } from "../../../test/fixtures";
import {
  buildStrategyInput,
  changedFields,
  defaultFormValues,
  errorsFromApi,
  formValuesFromStrategy,
  indicatorsFromRows,
  latestVersions,
  parseParams,
  rowsFromIndicators,
  slugify,
} from "./strategyForm";

describe("strategy form conversions", () => {
  it("parses indicator parameters and rows into the API's entries", () => {
    expect(parseParams("timeperiod=14, nbdevup=2.5")).toEqual({ timeperiod: 14, nbdevup: 2.5 });
    expect(parseParams("")).toEqual({});
    expect(() => parseParams("timeperiod=fast")).toThrow(/name=number/);
    expect(
      indicatorsFromRows([
        { id: 1, name: "rsi", key: "", params: "timeperiod=14" },
        { id: 2, name: "", key: "", params: "" }, // an untouched new row is dropped
        { id: 3, name: "SMA", key: "SMA50", params: "timeperiod=50" },
        { id: 4, name: "ATR", key: "", params: "" },
      ]),
    ).toEqual([
      { name: "RSI", params: { timeperiod: 14 } },
      { name: "SMA", key: "SMA50", params: { timeperiod: 50 } },
      { name: "ATR" },
    ]);
    expect(() => indicatorsFromRows([{ id: 1, name: "", key: "K", params: "" }])).toThrow(
      /function name/,
    );
  });

  it("edits stored indicators as rows only when the list can hold them", () => {
    expect(rowsFromIndicators([{ name: "MACD", params: { fastperiod: 12 } }])).toMatchObject([
      { name: "MACD", key: "", params: "fastperiod=12" },
    ]);
    expect(rowsFromIndicators([{ name: "RSI", extra: 1 }])).toBeNull();
    expect(rowsFromIndicators([{ name: "RSI", params: { timeperiod: "14" } }])).toBeNull();
    const values = formValuesFromStrategy(makeStrategy({ indicators: [{ name: "RSI", extra: 1 }] }));
    expect(values.indicatorsJson).toContain('"extra": 1');
  });

  it("derives slugs from names", () => {
    expect(slugify("GOOG daily swing")).toBe("goog-daily-swing");
    expect(slugify("  Ünïcode / 2R min! ")).toBe("unicode-2r-min");
    expect(slugify("x".repeat(80))).toHaveLength(64);
  });

  it("checks number fields and required choices before sending", () => {
    const { input, errors } = buildStrategyInput({
      ...defaultFormValues(),
      name: "A",
      slug: "a",
      lookback: "lots",
      llm_timeout_s: "",
    });
    expect(input).toBeUndefined();
    expect(errors).toEqual({
      lookback: ["Enter a whole number."],
      symbol: ["Choose a symbol."],
      prompt_template: ["Choose a prompt template."],
    });
  });

  it("sends only the changed fields of a saved strategy", () => {
    const strategy = makeStrategy();
    const unchanged = buildStrategyInput(formValuesFromStrategy(strategy)).input!;
    expect(changedFields(unchanged, strategy)).toEqual({});
    const edited = buildStrategyInput({
      ...formValuesFromStrategy(strategy),
      capital: "250000",
      llm_timeout_s: "30",
    }).input!;
    expect(changedFields(edited, strategy)).toEqual({ capital: "250000", llm_timeout_s: 30 });
  });

  it("sends approval, automatic-trigger limits and LLM budgets; an empty one as null (off)", () => {
    const strategy = makeStrategy();
    const edited = buildStrategyInput({
      ...formValuesFromStrategy(strategy),
      approval: "required",
      daily_loss_limit: " 5000 ",
      max_failed_runs: "3",
      llm_budget_daily_usd: "2.50",
    }).input!;
    expect(changedFields(edited, strategy)).toEqual({
      approval: "required",
      daily_loss_limit: "5000",
      max_failed_runs: 3,
      llm_budget_daily_usd: "2.50",
    });
    const cleared = buildStrategyInput({
      ...formValuesFromStrategy({ ...strategy, max_failed_runs: 3 }),
      max_failed_runs: "",
    }).input!;
    expect(cleared.max_failed_runs).toBeNull();
  });

  it("splits a 400 into field messages and general ones", () => {
    const error = new ApiError(400, {
      schedule_cron: ["bad cron"],
      non_field_errors: ["whole thing"],
      owner: ["not yours"],
    });
    expect(errorsFromApi(error, new Set(["schedule_cron"]))).toEqual({
      fields: { schedule_cron: ["bad cron"] },
      general: ["whole thing", "owner: not yours"],
    });
  });

  it("offers the latest version of each template", () => {
    const versions = [
      makePromptTemplate({ id: 2, name: "swing", version: 2 }),
      makePromptTemplate({ id: 1, name: "swing", version: 1 }),
      makePromptTemplate({ id: 3, name: "alpha", version: 4 }),
    ];
    expect(latestVersions(versions).map((v) => v.id)).toEqual([3, 2]);
  });
});
