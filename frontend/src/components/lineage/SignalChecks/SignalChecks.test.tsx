import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { SignalChecks } from "./SignalChecks";

describe("SignalChecks", () => {
  it("marks each check passed or failed with its detail", () => {
    render(
      <SignalChecks
        checks={[
          { name: "price_order", passed: true, detail: "stop 95 < entry 100 < target 110" },
          { name: "reward_risk", passed: false, detail: "reward/risk 1.2 >= 1.5" },
        ]}
      />,
    );
    const passed = screen.getByTestId("check-price_order");
    expect(passed).toHaveClass("check-passed");
    expect(within(passed).getByText("passed")).toBeInTheDocument();
    expect(within(passed).getByText("✓")).toBeInTheDocument();
    expect(within(passed).getByText("price order")).toBeInTheDocument();

    const failed = screen.getByTestId("check-reward_risk");
    expect(failed).toHaveClass("check-failed");
    expect(within(failed).getByText("failed")).toBeInTheDocument();
    expect(within(failed).getByText("✗")).toBeInTheDocument();
    expect(within(failed).getByText("reward/risk 1.2 >= 1.5")).toBeInTheDocument();
  });

  it("says when there are no checks", () => {
    render(<SignalChecks checks={[]} />);
    expect(screen.getByText("No checks recorded.")).toBeInTheDocument();
  });
});
