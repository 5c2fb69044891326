import { useState } from "react";
import { useSymbols } from "../../../api/symbols";
import type { Strategy } from "../../../api/types";
import { NumberField, SelectField, TextField, useStrategyForm, type SelectOption } from "./fields";
import { BAR_SIZES, slugify } from "./strategyForm";

/** Name, slug (following the name for a new strategy), symbol, bar size and lookback. */
export function BasicsSection({ strategy }: { strategy?: Strategy }) {
  const { values, set, setValues } = useStrategyForm();
  // A new strategy's slug follows its name until the user types a slug of their own.
  const [slugEdited, setSlugEdited] = useState(strategy !== undefined);
  const symbols = useSymbols({ page_size: 200 });
  const symbolList = symbols.data?.results ?? [];

  const symbolOptions: SelectOption[] = symbolList.map((s) => ({
    value: String(s.id),
    label: `${s.symbol} · ${s.exchange} · ${s.currency}${s.sec_type !== "STK" ? ` (${s.sec_type})` : ""}`,
  }));
  // The strategy's own symbol stays selectable when the list does not hold it.
  if (strategy && !symbolList.some((s) => s.id === strategy.symbol))
    symbolOptions.unshift({ value: String(strategy.symbol), label: strategy.symbol_code });

  const barSizes: SelectOption[] = BAR_SIZES.map((b) => ({ value: b, label: b }));
  // A stored bar size this form does not list is kept, not silently replaced.
  if (!(BAR_SIZES as readonly string[]).includes(values.bar_size))
    barSizes.unshift({ value: values.bar_size, label: values.bar_size });

  return (
    <fieldset className="form-section">
      <legend>Basics</legend>
      <div className="form-grid">
        <TextField
          name="name"
          label="Name"
          maxLength={128}
          required
          onChange={(name) =>
            setValues((v) => ({ ...v, name, slug: slugEdited ? v.slug : slugify(name) }))
          }
        />
        <TextField
          name="slug"
          label="Slug"
          hint="Lowercase letters, digits, - and _; identifies the strategy in files and URLs."
          className="mono"
          maxLength={64}
          required
          spellCheck={false}
          autoCapitalize="none"
          onChange={(slug) => {
            setSlugEdited(true);
            set("slug", slug);
          }}
        />
        <SelectField
          name="symbol"
          label="Symbol"
          placeholder="Choose…"
          loading={symbols.isPending}
          options={symbolOptions}
          hint={
            symbols.isError
              ? `Could not load symbols: ${symbols.error.message}`
              : symbols.isSuccess && symbolList.length === 0
                ? "No symbols yet: declare one in a strategies file (apply_strategies) first."
                : "Money and prices below are in this symbol's currency."
          }
        />
        <SelectField name="bar_size" label="Bar size" options={barSizes} />
        <NumberField
          name="lookback"
          label="Lookback (bars)"
          hint="10–5000 bars."
          integer
          min={10}
          max={5000}
        />
      </div>
    </fieldset>
  );
}
