/**
 * The strategy form's building blocks: the form state every section reads (a context, so the
 * sections and fields need no props for it) and labelled controls bound to one form value.
 *
 * Every control's id is `strategy-<name>`; its hint is `strategy-<name>-hint` and its error
 * messages `strategy-<name>-error`, both tied to it by `aria-describedby`.
 */
import {
  createContext,
  useContext,
  type Dispatch,
  type InputHTMLAttributes,
  type ReactNode,
  type SetStateAction,
} from "react";
import type { FieldErrors, StrategyFormValues } from "./strategyForm";

type Values = StrategyFormValues;

/** The form values held as text (inputs and selects). */
export type TextKey = {
  [K in keyof Values]: Values[K] extends string ? K : never;
}[keyof Values];
/** The form values held as booleans (checkboxes). */
export type BoolKey = {
  [K in keyof Values]: Values[K] extends boolean ? K : never;
}[keyof Values];

export type StrategyFormState = {
  values: Values;
  /** Set one value. */
  set: <K extends keyof Values>(field: K, value: Values[K]) => void;
  /** Set several values from the previous ones. */
  setValues: Dispatch<SetStateAction<Values>>;
  /** The messages shown beside the fields (the client's checks, else the API's 400). */
  errors: FieldErrors;
};

const StrategyFormContext = createContext<StrategyFormState | null>(null);
export const StrategyFormProvider = StrategyFormContext.Provider;

export function useStrategyForm(): StrategyFormState {
  const state = useContext(StrategyFormContext);
  if (!state) throw new Error("useStrategyForm outside a StrategyForm");
  return state;
}

export const fieldId = (name: string) => `strategy-${name}`;

/** `aria-describedby` for a control with an optional hint and error messages. */
export function describedBy(id: string, hasHint: boolean, hasError: boolean): string | undefined {
  const ids = [hasHint ? `${id}-hint` : "", hasError ? `${id}-error` : ""].filter(Boolean);
  return ids.join(" ") || undefined;
}

/** What a control inside a `Field` must carry to be labelled, described and marked invalid. */
export type FieldProps = {
  id: string;
  name: string;
  "aria-invalid": true | undefined;
  "aria-describedby": string | undefined;
};

function Hint({ id, hint }: { id: string; hint?: ReactNode }) {
  return hint ? (
    <p className="field-hint" id={`${id}-hint`}>
      {hint}
    </p>
  ) : null;
}

function Errors({ id, messages }: { id: string; messages: readonly string[] }) {
  return messages.length > 0 ? (
    <p className="field-error" id={`${id}-error`}>
      {messages.join(" ")}
    </p>
  ) : null;
}

/** A labelled control with its hint and its error messages, tied by `aria-describedby`. */
export function Field({
  name,
  label,
  hint,
  className,
  children,
}: {
  name: string;
  label: ReactNode;
  hint?: ReactNode;
  className?: string;
  children: (props: FieldProps) => ReactNode;
}) {
  const { errors } = useStrategyForm();
  const id = fieldId(name);
  const messages = errors[name] ?? [];
  return (
    <div className={`field ${className ?? ""}${messages.length ? " has-error" : ""}`}>
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        name,
        "aria-invalid": messages.length ? true : undefined,
        "aria-describedby": describedBy(id, Boolean(hint), messages.length > 0),
      })}
      <Hint id={id} hint={hint} />
      <Errors id={id} messages={messages} />
    </div>
  );
}

type Common<K> = {
  name: K;
  label: ReactNode;
  hint?: ReactNode;
  /** A class for the field's wrapper (`className` goes to the control). */
  fieldClassName?: string;
  /** Instead of setting the value: for a field whose change does more. */
  onChange?: (value: string) => void;
};

type InputAttributes = Omit<
  InputHTMLAttributes<HTMLInputElement>,
  "id" | "name" | "value" | "onChange" | "aria-invalid" | "aria-describedby" | "children"
>;

/** A text input bound to `values[name]`; other props go to the `<input>`. */
export function TextField({
  name,
  label,
  hint,
  fieldClassName,
  onChange,
  ...input
}: Common<TextKey> & InputAttributes) {
  const { values, set } = useStrategyForm();
  return (
    <Field name={name} label={label} hint={hint} className={fieldClassName}>
      {(p) => (
        <input
          {...p}
          {...input}
          value={values[name]}
          onChange={(e) =>
            onChange ? onChange(e.target.value) : set(name, e.target.value as Values[TextKey])
          }
        />
      )}
    </Field>
  );
}

/**
 * A number input (`type="number"`), kept as the text typed: `integer` for whole numbers
 * (numeric keypad, step 1), else decimals.
 */
export function NumberField({
  integer = false,
  ...props
}: Common<TextKey> & InputAttributes & { integer?: boolean }) {
  return (
    <TextField
      type="number"
      inputMode={integer ? "numeric" : "decimal"}
      step={integer ? 1 : undefined}
      {...props}
    />
  );
}

export type SelectOption = { value: string; label: ReactNode };

/**
 * A select bound to `values[name]`. `loading` disables it with a "Loading…" choice;
 * `placeholder` is a first, unselectable choice shown while nothing is chosen (value "").
 */
export function SelectField({
  name,
  label,
  hint,
  fieldClassName,
  onChange,
  options,
  loading = false,
  placeholder,
}: Common<TextKey> & {
  options: readonly SelectOption[];
  loading?: boolean;
  placeholder?: string;
}) {
  const { values, set } = useStrategyForm();
  const value = values[name];
  return (
    <Field name={name} label={label} hint={hint} className={fieldClassName}>
      {(p) => (
        <select
          {...p}
          value={value}
          disabled={loading}
          required={placeholder !== undefined || undefined}
          onChange={(e) =>
            onChange ? onChange(e.target.value) : set(name, e.target.value as Values[TextKey])
          }
        >
          {loading ? (
            <option value="">Loading…</option>
          ) : (
            placeholder !== undefined &&
            value === "" && (
              <option value="" disabled>
                {placeholder}
              </option>
            )
          )}
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** A checkbox bound to `values[name]`, with its label after it, its hint and errors. */
export function CheckboxField({
  name,
  label,
  hint,
}: {
  name: BoolKey;
  label: ReactNode;
  hint?: ReactNode;
}) {
  const { values, set, errors } = useStrategyForm();
  const id = fieldId(name);
  const messages = errors[name] ?? [];
  return (
    <div className={`field field-check${messages.length ? " has-error" : ""}`}>
      <label htmlFor={id}>
        <input
          id={id}
          name={name}
          type="checkbox"
          checked={values[name]}
          onChange={(e) => set(name, e.target.checked)}
          aria-invalid={messages.length ? true : undefined}
          aria-describedby={describedBy(id, Boolean(hint), messages.length > 0)}
        />
        {label}
      </label>
      <Hint id={id} hint={hint} />
      <Errors id={id} messages={messages} />
    </div>
  );
}
