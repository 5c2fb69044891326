import { useId, useMemo } from "react";
import { CheckboxField, SelectField, TextField } from "./fields";
import { CATCH_UPS } from "./strategyForm";

let timeZones: string[] | undefined;
/** IANA zones the browser knows, for the timezone field's suggestions. */
function knownTimeZones(): string[] {
  if (!timeZones) {
    let zones: string[] = [];
    try {
      zones = Intl.supportedValuesOf?.("timeZone") ?? [];
    } catch {
      zones = [];
    }
    timeZones = ["UTC", ...zones.filter((z) => z !== "UTC")];
  }
  return timeZones;
}

/** The cron schedule and its timezone, catching up, closed market days, and Active. */
export function ScheduleSection() {
  const zonesList = useId();
  // ~400 zones: built once, so typing elsewhere in the form does not re-render them.
  const timeZoneList = useMemo(
    () => (
      <datalist id={zonesList}>
        {knownTimeZones().map((z) => (
          <option key={z} value={z} />
        ))}
      </datalist>
    ),
    [zonesList],
  );
  return (
    <fieldset className="form-section">
      <legend>Schedule</legend>
      <div className="form-grid">
        <TextField
          name="schedule_cron"
          label="Schedule (cron)"
          hint="minute hour day-of-month month day-of-week; 0 22 * * 1-5 is 22:00 Monday to Friday."
          className="mono"
          maxLength={128}
          spellCheck={false}
        />
        <TextField
          name="schedule_timezone"
          label="Timezone"
          hint="The IANA zone the cron expression is read in."
          list={zonesList}
          maxLength={64}
          spellCheck={false}
        />
        <SelectField name="catch_up" label="Catch up" hint="After downtime." options={CATCH_UPS} />
        <CheckboxField
          name="skip_closed_market"
          label="Skip closed market days"
          hint="Record slots on days the symbol's exchange has no session as skipped."
        />
        <CheckboxField
          name="is_active"
          label="Active"
          hint="Inactive strategies are not scheduled (Run now still works)."
        />
      </div>
      {timeZoneList}
    </fieldset>
  );
}
