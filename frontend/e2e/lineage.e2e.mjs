// End to end in Debian's Chromium, driven by playwright-core (the browser download of
// `npx playwright install` does not work here, so the system browser is launched by path).
// A trader signs in, creates a strategy, presses "Run now" and reads the run's lineage, then
// edits the strategy's prompt template, saves the next version, moves the strategy to it and
// previews it on that run.
//
// Started by tests/e2e/test_browser.py, which brings up the server side (Django live server,
// a Celery worker, a loopback model) and passes it in through the environment:
//   E2E_BASE_URL, E2E_USERNAME, E2E_PASSWORD, E2E_SYMBOL, E2E_PROMPT_TEMPLATE,
//   E2E_SCREENSHOTS (folder for the PNGs), CHROMIUM (default /usr/bin/chromium).
// Exit code 0 means every step was seen; otherwise the error and a last screenshot.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const base = env("E2E_BASE_URL").replace(/\/$/, "");
const shots = env("E2E_SCREENSHOTS", "../var/screenshots");
const RUN_TIMEOUT_MS = 180_000; // a run includes a chart PNG render on a busy 2-core machine
const STEPS = ["data", "indicators", "charts", "llm", "signal", "order"];

mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({
  executablePath: env("CHROMIUM", "/usr/bin/chromium"),
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
  ],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
page.setDefaultTimeout(30_000);
// Every Content-Security-Policy violation the browser reports, on any page: the app, Swagger UI
// and the admin must all work under the server's policy (django-csp), so one fails the run.
const cspViolations = [];
page.on("console", (message) => {
  if (message.type() === "error" && /Content Security Policy/i.test(message.text())) {
    cspViolations.push(`${page.url()}: ${message.text()}`);
  }
});
let shot = 0;
/** Full-page PNG named in the order taken: 01-login.png, 02-… */
const screenshot = async (name) => {
  shot += 1;
  const file = path.join(shots, `${String(shot).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${file}`);
};
/** The value of the first option of `select` whose text contains `text`. */
const optionValue = async (select, text) => {
  const value = await select.locator("option", { hasText: text }).first().getAttribute("value");
  if (value === null) throw new Error(`no option containing ${text}`);
  return value;
};

try {
  // Sign in from the header, as a visitor would.
  await page.goto(`${base}/`);
  await page.getByRole("link", { name: "Sign in" }).first().click();
  await page.getByLabel("Username").fill(env("E2E_USERNAME"));
  await page.getByLabel("Password").fill(env("E2E_PASSWORD"));
  await screenshot("login");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  await screenshot("dashboard");

  // Create a strategy: the defaults make a working one, the model is the loopback one.
  await page.getByRole("link", { name: "New strategy" }).click();
  await page.getByLabel("Name", { exact: true }).fill("E2E swing");
  await page.getByLabel("Slug", { exact: true }).fill("e2e-swing");
  const symbol = page.getByLabel("Symbol", { exact: true });
  await symbol.selectOption(await optionValue(symbol, env("E2E_SYMBOL")));
  const template = page.getByLabel("Prompt template", { exact: true });
  await template.selectOption(await optionValue(template, env("E2E_PROMPT_TEMPLATE")));
  const analyst = page.getByLabel("Analyst", { exact: true });
  await analyst.selectOption(await optionValue(analyst, "openai"));
  await screenshot("new-strategy");
  await page.getByRole("button", { name: "Create strategy" }).click();
  await page.waitForURL(/\/strategies\/\d+$/);
  await page.getByRole("heading", { name: /E2E swing/ }).waitFor();
  await screenshot("strategy");

  // Run now, then follow the run to its lineage.
  await page.getByRole("button", { name: "Run now" }).click();
  const enqueued = page.getByRole("status").filter({ hasText: "enqueued" });
  await enqueued.getByRole("link").click();
  await page.waitForURL(/\/runs\/\d+$/);
  await screenshot("run-started");
  await page
    .getByRole("heading", { level: 1 })
    .filter({ hasText: /succeeded|failed|abandoned/ })
    .waitFor({ timeout: RUN_TIMEOUT_MS });
  const heading = await page.getByRole("heading", { level: 1 }).innerText();
  if (!heading.includes("succeeded")) throw new Error(`the run did not succeed: ${heading}`);

  for (const name of STEPS) {
    const step = page.getByTestId(`step-${name}`);
    await step.waitFor();
    const text = await step.innerText();
    if (!text.includes("succeeded")) throw new Error(`step ${name}: ${text}`);
  }
  await page.locator(".js-plotly-plot").first().waitFor();
  const prompt = page.locator("section", { has: page.getByRole("heading", { name: "Prompt" }) });
  await prompt.getByText(`Analyse ${env("E2E_SYMBOL")}`).waitFor();
  const orderLink = page.getByRole("link", { name: /Order #\d+/ }).first();
  await orderLink.waitFor();
  await screenshot("lineage");
  const runUrl = page.url();

  // Open a step's input and output.
  await page.getByTestId("step-signal").getByRole("button", { name: "Show input/output" }).click();
  await screenshot("lineage-signal-step");

  // The order links back to its run.
  await orderLink.click();
  await page.waitForURL(/\/orders\/\d+$/);
  await page.getByRole("link", { name: /run #\d+/ }).waitFor();
  await screenshot("order");

  // Prompts: edit the template in the Jinja editor, save the next version, see the diff, and
  // preview the new version against the run just made.
  const templateName = env("E2E_PROMPT_TEMPLATE");
  await page.getByRole("navigation").getByRole("link", { name: "Prompts" }).click();
  await page.getByRole("link", { name: templateName, exact: true }).click();
  const editor = page.getByRole("textbox", { name: `Template body of ${templateName}` });
  await editor.click();
  await page.keyboard.press("Control+End");
  await page.keyboard.type(" Mind the {{ bar_size }} trend.");
  await page.getByRole("button", { name: "Save as v2" }).click();
  await page.getByText("Saved as v2.").waitFor();
  // The strategy still pins v1 until the trader moves it.
  await page.getByRole("button", { name: "Switch E2E swing to v2" }).click();
  await page.getByText("E2E swing now uses v2.").waitFor();
  await page.locator("section", { has: page.getByRole("heading", { name: "Compare" }) })
    .getByText("Mind the")
    .first()
    .waitFor();
  await screenshot("prompt-saved-diff");
  const previewSection = page.locator("section", {
    has: page.getByRole("heading", { name: "Preview" }),
  });
  await previewSection.getByLabel("Version").selectOption({ label: "v2" });
  await previewSection.getByRole("button", { name: "Render preview" }).click();
  const rendered = await page.getByTestId("preview-text").innerText();
  if (!rendered.includes(`Analyse ${env("E2E_SYMBOL")}`) || !rendered.includes("Mind the 1 day trend.")) {
    throw new Error(`unexpected preview: ${rendered}`);
  }
  await screenshot("prompt-preview");

  // A phone-width screen shows the same lineage.
  await page.goto(runUrl);
  await page.setViewportSize({ width: 375, height: 812 });
  await page.getByTestId("step-order").waitFor();
  await page.locator(".js-plotly-plot").first().waitFor();
  await screenshot("lineage-phone");

  // The API's Swagger UI renders its operations under the same policy.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${base}/api/docs/`);
  await page.locator(".swagger-ui .opblock").first().waitFor();
  await screenshot("api-docs");
  // The admin's sign-in page (a trader is not staff: it asks for another account).
  await page.goto(`${base}/admin/login/`);
  await page.locator("#login-form").waitFor();
  if (cspViolations.length > 0) {
    throw new Error(`Content-Security-Policy violations:\n${cspViolations.join("\n")}`);
  }
  console.log("e2e: ok");
} catch (error) {
  await screenshot("failure").catch(() => {});
  console.error(error);
  process.exitCode = 1;
} finally {
  await browser.close();
}
