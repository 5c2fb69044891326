import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { makeStep } from "../../../test/fixtures";
import { StepTimeline } from "./StepTimeline";
import { buildTimeline, PIPELINE_STEPS } from "./stepTimeline";

const steps = [
  makeStep({ id: 1, name: "data", sequence: 1, duration_ms: 1250 }),
  makeStep({ id: 2, name: "indicators", sequence: 2, duration_ms: 40 }),
  makeStep({
    id: 3,
    name: "charts",
    sequence: 3,
    status: "failed",
    duration_ms: 512,
    error_type: "ChartRenderError",
    error_message: "Chromium did not start",
  }),
];

describe("buildTimeline", () => {
  it("keeps the six pipeline steps in order, filling the ones not reached", () => {
    const rows = buildTimeline(steps, "failed");
    expect(rows.map((r) => r.name)).toEqual([...PIPELINE_STEPS]);
    expect(rows.slice(3).every((r) => r.status === "skipped")).toBe(true);
    expect(buildTimeline([], "running").every((r) => r.status === "not_started")).toBe(true);
  });
});

describe("StepTimeline", () => {
  it("shows each step's status and duration", () => {
    render(<StepTimeline steps={steps} runStatus="failed" />);
    const data = screen.getByTestId("step-data");
    expect(within(data).getByText("succeeded")).toBeInTheDocument();
    expect(within(data).getByText("1.25 s")).toBeInTheDocument();
    expect(within(screen.getByTestId("step-indicators")).getByText("40 ms")).toBeInTheDocument();
    expect(within(screen.getByTestId("step-charts")).getByText("failed")).toBeInTheDocument();
    expect(within(screen.getByTestId("step-order")).getByText("skipped")).toBeInTheDocument();
  });

  it("shows the failed step's error prominently", () => {
    render(<StepTimeline steps={steps} runStatus="failed" />);
    const alert = within(screen.getByTestId("step-charts")).getByRole("alert");
    expect(alert).toHaveTextContent("ChartRenderError: Chromium did not start");
    expect(alert).toHaveClass("step-error");
    // Only the failed step has an error box.
    expect(within(screen.getByTestId("step-data")).queryByRole("alert")).toBeNull();
  });

  it("expands a step to its input and output", async () => {
    render(<StepTimeline steps={steps} runStatus="failed" />);
    const data = screen.getByTestId("step-data");
    expect(within(data).queryByText("Input")).toBeNull();
    await userEvent.click(within(data).getByRole("button", { name: "Show input/output" }));
    expect(within(data).getByText("Input")).toBeInTheDocument();
    expect(within(data).getByText("lookback:")).toBeInTheDocument();
    expect(within(data).getAllByText("200", { selector: ".json-number" })).toHaveLength(2);
    expect(within(data).getByText("bars:")).toBeInTheDocument();
  });
});
