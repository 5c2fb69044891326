import { useId, useState } from "react";
import { useStrategyForm } from "./fields";
import {
  indicatorsFromValues,
  INDICATOR_PRESETS,
  newRowId,
  rowFromSpec,
  rowsFromIndicators,
  TALIB_FUNCTIONS,
  type IndicatorRow,
} from "./strategyForm";

const JSON_ID = "strategy-indicators-json";

/** One indicator of the list: function, key, parameters, and Remove. */
function IndicatorRowEditor({
  row,
  index,
  functionsList,
  onChange,
  onRemove,
}: {
  row: IndicatorRow;
  index: number;
  functionsList: string;
  onChange: (change: Partial<IndicatorRow>) => void;
  onRemove: () => void;
}) {
  return (
    <li className="indicator-row" aria-label={`Indicator ${index + 1}`}>
      <label>
        Function
        <input
          list={functionsList}
          className="mono"
          value={row.name}
          placeholder="RSI"
          autoCapitalize="characters"
          spellCheck={false}
          onChange={(e) => onChange({ name: e.target.value })}
        />
      </label>
      <label>
        Key
        <input
          className="mono"
          value={row.key}
          placeholder={row.name.toUpperCase() || "optional"}
          spellCheck={false}
          onChange={(e) => onChange({ key: e.target.value })}
        />
      </label>
      <label className="indicator-params">
        Parameters
        <input
          className="mono"
          value={row.params}
          placeholder="timeperiod=14"
          spellCheck={false}
          onChange={(e) => onChange({ params: e.target.value })}
        />
      </label>
      <button
        type="button"
        className="link-button"
        aria-label={`Remove indicator ${index + 1}`}
        onClick={onRemove}
      >
        Remove
      </button>
    </li>
  );
}

/**
 * The indicators, edited as a list of rows (with quick-add presets) or as JSON; entries the
 * list cannot hold (extra fields, non-numeric parameters) stay in JSON so nothing is lost.
 */
export function IndicatorsSection() {
  const { values, set, setValues, errors } = useStrategyForm();
  const [jsonModeError, setJsonModeError] = useState<string | null>(null);
  const functionsList = useId();
  const indicatorErrors = errors.indicators ?? [];
  const rows = values.indicatorRows;

  const setRow = (id: number, change: Partial<IndicatorRow>) =>
    set(
      "indicatorRows",
      rows.map((r) => (r.id === id ? { ...r, ...change } : r)),
    );
  const toJsonMode = () => {
    try {
      set("indicatorsJson", JSON.stringify(indicatorsFromValues(values), null, 2));
      setJsonModeError(null);
    } catch (e) {
      setJsonModeError((e as Error).message);
    }
  };
  const toListMode = () => {
    let parsed: unknown;
    try {
      parsed = indicatorsFromValues(values);
    } catch (e) {
      setJsonModeError((e as Error).message);
      return;
    }
    const parsedRows = rowsFromIndicators(parsed);
    if (!parsedRows) {
      setJsonModeError(
        "These entries do not fit the list (each needs name, optional key, numeric params).",
      );
      return;
    }
    setJsonModeError(null);
    setValues((v) => ({ ...v, indicatorRows: parsedRows, indicatorsJson: null }));
  };

  return (
    <fieldset
      className={`form-section${indicatorErrors.length ? " has-error" : ""}`}
      aria-describedby={indicatorErrors.length ? "strategy-indicators-error" : undefined}
    >
      <legend>Indicators</legend>
      <p className="field-hint">
        TA-Lib functions computed over the bars, drawn on the chart and given to the prompt.
        Parameters as <code>name=value</code> pairs (TA-Lib's defaults for the rest); set a key
        to use a function twice.
      </p>
      {values.indicatorsJson === null ? (
        <>
          <datalist id={functionsList}>
            {TALIB_FUNCTIONS.map((f) => (
              <option key={f} value={f} />
            ))}
          </datalist>
          {rows.length === 0 && <p className="muted small">No indicators.</p>}
          <ol className="indicator-list">
            {rows.map((row, i) => (
              <IndicatorRowEditor
                key={row.id}
                row={row}
                index={i}
                functionsList={functionsList}
                onChange={(change) => setRow(row.id, change)}
                onRemove={() =>
                  set(
                    "indicatorRows",
                    rows.filter((r) => r.id !== row.id),
                  )
                }
              />
            ))}
          </ol>
          <div className="indicator-actions">
            <button
              type="button"
              onClick={() =>
                set("indicatorRows", [...rows, { id: newRowId(), name: "", key: "", params: "" }])
              }
            >
              Add indicator
            </button>
            <span className="muted small">Quick add:</span>
            {INDICATOR_PRESETS.map((preset) => (
              <button
                key={preset.key ?? preset.name}
                type="button"
                className="chip"
                onClick={() => set("indicatorRows", [...rows, rowFromSpec(preset)])}
              >
                {preset.key ?? preset.name}
              </button>
            ))}
            <button type="button" className="link-button" onClick={toJsonMode}>
              Edit as JSON
            </button>
          </div>
        </>
      ) : (
        <>
          <label htmlFor={JSON_ID}>Indicators (JSON)</label>
          <textarea
            id={JSON_ID}
            className="mono"
            rows={10}
            spellCheck={false}
            value={values.indicatorsJson}
            onChange={(e) => set("indicatorsJson", e.target.value)}
            aria-invalid={indicatorErrors.length ? true : undefined}
            aria-describedby={
              indicatorErrors.length ? `${JSON_ID}-hint strategy-indicators-error` : `${JSON_ID}-hint`
            }
          />
          <p className="field-hint" id={`${JSON_ID}-hint`}>
            A list of <code>{'{"name": "RSI", "key": "RSI", "params": {"timeperiod": 14}}'}</code>{" "}
            entries.
          </p>
          <div className="indicator-actions">
            <button type="button" className="link-button" onClick={toListMode}>
              Edit as a list
            </button>
          </div>
        </>
      )}
      {jsonModeError && <p className="field-error">{jsonModeError}</p>}
      {indicatorErrors.length > 0 && (
        <p className="field-error" id="strategy-indicators-error">
          {indicatorErrors.join(" ")}
        </p>
      )}
    </fieldset>
  );
}
