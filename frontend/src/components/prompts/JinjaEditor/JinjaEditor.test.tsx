import { EditorView } from "@codemirror/view";
import { act, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { JinjaEditor } from "./JinjaEditor";
import "./jsdomRanges";

/** The EditorView behind the editable area named `label`. */
function viewOf(label: string): EditorView {
  const view = EditorView.findFromDOM(screen.getByRole("textbox", { name: label }));
  if (!view) throw new Error("no EditorView");
  return view;
}

describe("JinjaEditor", () => {
  it("shows the value with Jinja highlighting under an accessible label", () => {
    const body = "{{ symbol.symbol }} close\n{% if bars %}ok{% endif %}";
    render(<JinjaEditor value={body} onChange={() => {}} label="Body" />);
    const box = screen.getByRole("textbox", { name: "Body" });
    expect(box).toHaveAttribute("data-language", "jinja");
    expect(viewOf("Body").state.doc.toString()).toBe(body);
    expect(box.querySelector(".cm-jinja-expr")).toHaveTextContent("{{ symbol.symbol }}");
    expect([...box.querySelectorAll(".cm-jinja-tag")].map((e) => e.textContent)).toEqual([
      "{% if bars %}",
      "{% endif %}",
    ]);
  });

  it("reports user edits, but not a new value prop, through onChange", () => {
    const onChange = vi.fn();
    const { rerender } = render(<JinjaEditor value="a" onChange={onChange} label="Body" />);
    act(() => {
      const view = viewOf("Body");
      view.dispatch({ changes: { from: view.state.doc.length, insert: " {{ bars }}" } });
    });
    expect(onChange).toHaveBeenLastCalledWith("a {{ bars }}");

    onChange.mockClear();
    rerender(<JinjaEditor value="from version 1" onChange={onChange} label="Body" />);
    expect(viewOf("Body").state.doc.toString()).toBe("from version 1");
    expect(onChange).not.toHaveBeenCalled();
  });
});
