import { type UseMutationResult, useQuery } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { costRefusal, type CostRefusal } from "../../../api/backtests";
import { ApiError } from "../../../api/client";
import { buildGetPromptTemplateQuery, buildListPromptTemplatesQuery } from "../../../api/prompts";
import type { Analyst, Strategy } from "../../../api/types";

/**
 * A 400's field errors as readable lines: `field: message`, a variant's as
 * `variant 2, prompt_version: message`. Input: the API's error body and the number of the
 * first variant row (a replay's rows are variants 2, 3, …: the original is 1).
 */
export function errorLines(body: unknown, firstVariant = 1): string[] {
  if (!body || typeof body !== "object") return [];
  const lines: string[] = [];
  for (const [field, value] of Object.entries(body as Record<string, unknown>)) {
    if (field === "variants" && Array.isArray(value)) {
      value.forEach((item, i) => {
        if (typeof item === "string") lines.push(`variants: ${item}`);
        else if (item && typeof item === "object")
          for (const [key, messages] of Object.entries(item as Record<string, unknown>))
            lines.push(`variant ${i + firstVariant}, ${key}: ${([] as unknown[]).concat(messages).join(" ")}`);
      });
    } else {
      lines.push(`${field}: ${([] as unknown[]).concat(value).join(" ")}`);
    }
  }
  return lines;
}

/** The versions of `strategy`'s prompt template name, "" standing for the strategy's own. */
export function PromptVersionSelect({
  strategy,
  value,
  onChange,
  id,
}: {
  strategy: Strategy | undefined;
  value: string;
  onChange: (v: string) => void;
  id: string;
}) {
  const templateId = strategy?.prompt_template ?? 0;
  const template = useQuery({ ...buildGetPromptTemplateQuery(templateId), enabled: templateId > 0 });
  const name = template.data?.name ?? "";
  const versions = useQuery({ ...buildListPromptTemplatesQuery({ name }), enabled: name !== "" });
  return (
    <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
      <option value="">
        strategy's own{template.data ? ` (v${template.data.version})` : ""}
      </option>
      {name &&
        versions.data?.map((v) => (
          <option key={v.id} value={v.version}>
            v{v.version}
          </option>
        ))}
    </select>
  );
}

/** What a backtest's or replay's form does with its create and estimate mutations. */
export interface CreateForm {
  /** Create with `confirm` (true: start even above the cost limit). */
  start: (confirm: boolean) => void;
  /** The form's submit: create without confirming. */
  onSubmit: (e: FormEvent) => void;
  /** The cost refusal of the last create (its estimate and the limit), or null. */
  refusal: CostRefusal | null;
  /** The 400 field errors of the last create (else of the estimate), one line each. */
  fieldErrors: string[];
  /** Any other error of the last create (network, 5xx, 503 task queue), or null. */
  otherError: Error | null;
}

/**
 * A create-and-estimate form's submit and errors: `body(confirm)` is the request; once
 * created, `opened(id)` runs (the new backtest's page opens). `firstVariant` numbers the
 * variant rows in error lines (a replay's rows start at 2, after the original).
 */
export function createForm<Body, Created extends { id: number }>(
  create: UseMutationResult<Created, Error, Body>,
  estimate: UseMutationResult<unknown, Error, Body>,
  body: (confirm: boolean) => Body,
  opened: (id: number) => void,
  firstVariant = 1,
): CreateForm {
  const start = (confirm: boolean) => create.mutate(body(confirm), { onSuccess: (b) => opened(b.id) });
  const refusal = costRefusal(create.error);
  const fieldErrors =
    !refusal && create.error instanceof ApiError && create.error.status === 400
      ? errorLines(create.error.body, firstVariant)
      : estimate.error instanceof ApiError && estimate.error.status === 400
        ? errorLines(estimate.error.body, firstVariant)
        : [];
  const otherError =
    create.error && !(create.error instanceof ApiError && create.error.status === 400) ? create.error : null;
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    start(false);
  };
  return { start, onSubmit, refusal, fieldErrors, otherError };
}

/** A variant's analyst: the strategy's own (""), the rule-based baseline or the LLM (openai). */
export function AnalystSelect({
  id,
  value,
  onChange,
}: {
  id: string;
  value: Analyst | "";
  onChange: (value: Analyst | "") => void;
}) {
  return (
    <select id={id} value={value} onChange={(e) => onChange(e.target.value as Analyst | "")}>
      <option value="">strategy's own</option>
      <option value="baseline">baseline</option>
      <option value="openai">openai</option>
    </select>
  );
}
