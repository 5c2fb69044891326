import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useStrategy, useUpdateStrategy } from "../api/strategies";
import type { Strategy } from "../api/types";
import { StrategyForm } from "../components/strategies/StrategyForm/StrategyForm";
import { changedFields } from "../components/strategies/StrategyForm/strategyForm";
import { QueryState } from "../components/ui/QueryState/QueryState";
import { formatDateTime } from "../lib/format";
import { useNumericParam } from "./params";

/** `/strategies/:id/edit`: the strategy form prefilled; PATCHes the changed fields. */
export function EditStrategyPage() {
  const id = useNumericParam(useParams().id);
  const strategy = useStrategy(id);
  return (
    <div className="page">
      <p>
        <Link to={`/strategies/${id}`}>← {strategy.data?.name ?? "Strategy"}</Link>
      </p>
      <QueryState query={strategy} errorTitle="Could not load the strategy">
        {(s) => (
          // A refetched strategy must not reset what the user is typing: keyed by id only.
          <EditStrategy key={s.id} latest={s} />
        )}
      </QueryState>
    </div>
  );
}

/**
 * The form over the strategy as it was when the form opened (`opened`): its values were
 * filled from that snapshot, so the changes to send are the differences from it. Diffing
 * against a refetched `latest` instead would take a field someone changed elsewhere meanwhile
 * (say, deactivated the strategy) for the user's own change, and send the stale value back.
 * When `latest` has moved on, a warning offers to reload the form from it.
 */
function EditStrategy({ latest }: { latest: Strategy }) {
  const [opened, setOpened] = useState(latest);
  // Bumped by "Reload": a new form, filled from the new snapshot.
  const [formVersion, setFormVersion] = useState(0);
  const update = useUpdateStrategy(latest.id);
  const navigate = useNavigate();
  // Our own save also moves `updated_at`; the page is left right after, so no warning then.
  const changedElsewhere =
    latest.updated_at !== opened.updated_at && !update.isPending && !update.isSuccess;

  const reload = () => {
    setOpened(latest);
    setFormVersion((v) => v + 1);
    update.reset();
  };

  return (
    <>
      <h1>
        Edit {opened.name} <span className="muted small mono">{opened.slug}</span>
      </h1>
      {changedElsewhere && (
        <div className="notice notice-warning" role="alert">
          <p>
            <strong>
              This strategy was changed elsewhere since you opened it — reload before saving.
            </strong>{" "}
            Last saved {formatDateTime(latest.updated_at)}. Reloading fills the form with the saved
            values (what you typed here is lost); saving without reloading sends only the fields
            you changed.
          </p>
          <button type="button" onClick={reload}>
            Reload
          </button>
        </div>
      )}
      <StrategyForm
        key={formVersion}
        strategy={opened}
        submitLabel="Save changes"
        pendingLabel="Saving…"
        isPending={update.isPending}
        error={update.error}
        cancelTo={`/strategies/${opened.id}`}
        onSubmit={(input) =>
          update.mutate(changedFields(input, opened), {
            onSuccess: (saved) => navigate(`/strategies/${saved.id}`),
          })
        }
      />
    </>
  );
}
