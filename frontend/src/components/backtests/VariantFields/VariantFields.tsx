import { useQuery } from "@tanstack/react-query";
import { buildGetPromptTemplateQuery, buildListPromptTemplatesQuery } from "../../../api/prompts";
import type { Strategy } from "../../../api/types";

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
