import { jinja } from "@codemirror/lang-jinja";
import { Annotation, Compartment, EditorState } from "@codemirror/state";
import {
  Decoration,
  EditorView,
  MatchDecorator,
  ViewPlugin,
  type DecorationSet,
  type ViewUpdate,
} from "@codemirror/view";
import { basicSetup } from "codemirror";
import { useEffect, useRef } from "react";

// Marks the transactions that mirror a new `value` prop into the editor, so they are not
// reported back through onChange as if the user had typed them.
const fromProps = Annotation.define<boolean>();

// The Jinja parser tags keywords, which the default highlight style colors, but leaves the
// `{{ }}` / `{% %}` / `{# #}` blocks themselves plain; in a prompt (mostly prose) those blocks
// are what the eye looks for, so they get a tint of their own (one line at a time).
const jinjaBlocks = new MatchDecorator({
  regexp: /\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}/g,
  decoration: (match) =>
    Decoration.mark({
      class: match[0].startsWith("{#")
        ? "cm-jinja-comment"
        : match[0].startsWith("{%")
          ? "cm-jinja-tag"
          : "cm-jinja-expr",
    }),
});

const jinjaBlockTint = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;
    constructor(view: EditorView) {
      this.decorations = jinjaBlocks.createDeco(view);
    }
    update(update: ViewUpdate) {
      this.decorations = jinjaBlocks.updateDeco(update, this.decorations);
    }
  },
  { decorations: (plugin) => plugin.decorations },
);

const theme = EditorView.theme({
  "&": { fontSize: "0.85rem", backgroundColor: "var(--card)" },
  ".cm-content": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace" },
  ".cm-scroller": { minHeight: "12rem", maxHeight: "32rem" },
  ".cm-jinja-expr": { color: "#0550ae", backgroundColor: "#ddf4ff", borderRadius: "3px" },
  ".cm-jinja-tag": { color: "#8250df", backgroundColor: "#f3eefe", borderRadius: "3px" },
  ".cm-jinja-comment": { color: "#6e7781", fontStyle: "italic" },
});

/**
 * A CodeMirror 6 editor for a Jinja2 template body.
 *
 * Inputs: `value`, the text to show — when it changes from outside (e.g. "load version 2"),
 * the document is replaced; `onChange(text)`, called with the whole document after each user
 * edit; `label`, the accessible name of the editable area (role `textbox`); `describedBy`
 * and `invalid`, its `aria-describedby` and `aria-invalid` (e.g. a field error beside it).
 * Output: the editor, mounted once in a div; its EditorView lives in a ref.
 */
export function JinjaEditor({
  value,
  onChange,
  label,
  readOnly = false,
  describedBy,
  invalid = false,
}: {
  value: string;
  onChange: (text: string) => void;
  label: string;
  readOnly?: boolean;
  describedBy?: string;
  invalid?: boolean;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  // Refs keep the editor from being rebuilt (losing cursor and undo history) on each render.
  const onChangeRef = useRef(onChange);
  const valueRef = useRef(value);
  // The ARIA description and validity change without rebuilding the editor.
  const aria = useRef(new Compartment());
  const ariaAttrs = useRef(ariaAttributes(describedBy, invalid));
  useEffect(() => {
    onChangeRef.current = onChange;
    valueRef.current = value;
    ariaAttrs.current = ariaAttributes(describedBy, invalid);
  });

  useEffect(() => {
    const created = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: valueRef.current,
        extensions: [
          basicSetup,
          jinja(),
          jinjaBlockTint,
          EditorView.lineWrapping,
          theme,
          EditorState.readOnly.of(readOnly),
          EditorView.contentAttributes.of({ "aria-label": label }),
          aria.current.of(EditorView.contentAttributes.of(ariaAttrs.current)),
          EditorView.updateListener.of((update) => {
            if (!update.docChanged) return;
            if (update.transactions.every((tr) => tr.annotation(fromProps))) return;
            onChangeRef.current(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = created;
    return () => {
      created.destroy();
      view.current = null;
    };
  }, [label, readOnly]);

  useEffect(() => {
    const current = view.current;
    if (!current) return;
    const doc = current.state.doc.toString();
    if (doc !== value) {
      current.dispatch({
        changes: { from: 0, to: doc.length, insert: value },
        annotations: fromProps.of(true),
      });
    }
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({
      effects: aria.current.reconfigure(
        EditorView.contentAttributes.of(ariaAttributes(describedBy, invalid)),
      ),
    });
  }, [describedBy, invalid]);

  return <div className="jinja-editor" ref={host} />;
}

function ariaAttributes(describedBy: string | undefined, invalid: boolean): Record<string, string> {
  const attrs: Record<string, string> = {};
  if (describedBy) attrs["aria-describedby"] = describedBy;
  if (invalid) attrs["aria-invalid"] = "true";
  return attrs;
}
