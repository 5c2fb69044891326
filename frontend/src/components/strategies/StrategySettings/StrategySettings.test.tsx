import { screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { makeStrategy } from "../../../test/fixtures";
import { mockFetch, renderWithProviders } from "../../../test/utils";
import { StrategySettings } from "./StrategySettings";

/** The value shown beside a settings label. */
const valueOf = (label: string) => screen.getByText(label, { selector: "dt" }).nextElementSibling;

describe("StrategySettings", () => {
  it("names the strategy's LLM endpoint", () => {
    vi.stubGlobal("fetch", vi.fn(mockFetch(() => undefined)));
    renderWithProviders(
      <StrategySettings strategy={makeStrategy({ llm_endpoint: 4, llm_endpoint_name: "my vllm" })} />,
    );
    expect(valueOf("LLM endpoint")).toHaveTextContent("my vllm");
  });

  it("says operator default when the strategy has no endpoint", () => {
    vi.stubGlobal("fetch", vi.fn(mockFetch(() => undefined)));
    renderWithProviders(<StrategySettings strategy={makeStrategy({ llm_endpoint: null })} />);
    expect(valueOf("LLM endpoint")).toHaveTextContent("operator default (LLM_BASE_URL)");
  });
});
