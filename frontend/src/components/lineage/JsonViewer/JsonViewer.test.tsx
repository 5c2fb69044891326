import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { JsonViewer } from "./JsonViewer";

const value = { symbol: "SPY", bars: 200, ok: true, none: null, series: { rsi: [30.5, 41] } };

describe("JsonViewer", () => {
  it("renders scalars and starts nested objects collapsed beyond expandDepth", () => {
    render(<JsonViewer value={value} label="output" />);
    expect(screen.getByText('"SPY"')).toBeInTheDocument();
    expect(screen.getByText("200")).toBeInTheDocument();
    expect(screen.getByText("true")).toBeInTheDocument();
    expect(screen.getByText("null")).toBeInTheDocument();
    // `series` is at depth 1: collapsed, with a summary.
    expect(screen.getByRole("button", { name: "Expand series" })).toHaveAttribute(
      "aria-expanded",
      "false",
    );
    expect(screen.getByText("1 key", { exact: false })).toBeInTheDocument();
    expect(screen.queryByText("rsi:")).toBeNull();
  });

  it("expands and collapses on click", async () => {
    const user = userEvent.setup();
    render(<JsonViewer value={value} label="output" />);
    await user.click(screen.getByRole("button", { name: "Expand series" }));
    expect(screen.getByText("rsi:")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Expand rsi" }));
    expect(screen.getByText("30.5")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Collapse output" }));
    expect(screen.queryByText('"SPY"')).toBeNull();
    expect(screen.getByText("5 keys", { exact: false })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Expand output" }));
    expect(screen.getByText('"SPY"')).toBeInTheDocument();
  });

  it("shows empty containers and missing values", () => {
    const { container } = render(<JsonViewer value={{ a: [], b: {} }} />);
    expect(container).toHaveTextContent("a: []");
    expect(container).toHaveTextContent("b: {}");
  });
});
