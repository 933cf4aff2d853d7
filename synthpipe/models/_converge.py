"""Training to convergence: the check a converging fit makes every few hundred steps.

With the default budget a model trains until a sample from it stops getting better, not for a
fixed number of steps tuned on one table. Every :data:`CHECK_STEPS` optimizer steps the loop
(:func:`synthpipe.training.train`) calls the monitor built here with the weights it would keep
(the EMA weights). The monitor samples :data:`CHECK_ROWS` rows and scores them:

- fidelity, by :class:`~synthpipe.evaluation.probe.FidelityProbe` against up to
  :data:`CHECK_ROWS` real rows: the loop's validation rows (the same rows: they are drawn from a
  copy of the loop's generator) and, when those are fewer, training rows besides. A detector
  trained on a few hundred rows misses what a few thousand show (a broken month relation scored
  AUC 0.56 on 600 validation rows and 0.89 on 6,000 held-out rows);
- memorisation, since training rows are part of that reference and a long run on a small table
  drifts towards copying them: the share of sampled rows whose nearest training row (in the
  encoded space) is closer than their nearest validation row, the privacy gate's DCR share.
  Above :data:`DCR_SHARE_FREE` it adds ``2 * excess`` to the score, so the weights kept are
  those from before the model began to copy.

Lower is better; the loop keeps the best-scoring weights and stops after a few checks without
gain (:class:`~synthpipe.training.TrainConfig`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from synthpipe.training import TrainConfig, validation_split

if TYPE_CHECKING:
    from synthpipe.models.base import Synthesizer

#: Optimizer steps between two checks (rounded to whole epochs).
CHECK_STEPS = 250
#: Rows sampled for one check, and real rows compared with at most.
CHECK_ROWS = 2_000
#: Rows of each side of the memorisation term at most.
DCR_ROWS = 1_000
#: A DCR share up to this is free (0.5 is a model that never saw the training rows).
DCR_SHARE_FREE = 0.52


def _dcr_share(sample: torch.Tensor, train: torch.Tensor, val: torch.Tensor) -> float:
    """Share of sampled rows nearer to a training row than to any validation row (ties: half)."""
    d_train = torch.cdist(sample, train).min(1).values
    d_val = torch.cdist(sample, val).min(1).values
    return float(((d_train < d_val).float() + 0.5 * (d_train == d_val).float()).mean())


def build_monitor(model: Synthesizer, cfg: TrainConfig, n: int,
                  generator: torch.Generator) -> Callable[[torch.nn.Module], dict] | None:
    """The check of ``model``'s converging fit, or None (a fixed budget, too few rows).

    Sets ``cfg.monitor_every`` to about :data:`CHECK_STEPS` steps.

    Args:
        model: The synthesizer being fitted (its transformer and constraints are fitted).
        cfg: The loop's settings (validation share, batch size).
        n: Rows the loop trains on.
        generator: The generator the loop will draw its validation split from (not used up).
    """
    from synthpipe.evaluation.probe import FidelityProbe

    rows = getattr(model, "_fit_frame", None)
    if not getattr(model, "converge_", False) or rows is None:
        return None
    features, metadata, cond = rows
    twin = torch.Generator().manual_seed(0)
    twin.set_state(generator.get_state())
    val_idx, train_idx = validation_split(n, cfg.val_fraction, twin)
    if len(val_idx) < 25 or len(features) != n:
        return None
    order = train_idx[torch.randperm(len(train_idx), generator=twin)]
    pick = torch.cat([val_idx, order[: max(0, CHECK_ROWS - len(val_idx))]])
    labels = cond[pick] if cond is not None else None
    real = model._finish_frame(features.iloc[pick.numpy()].reset_index(drop=True), labels)
    probe = FidelityProbe(real, metadata.subset(list(real.columns)), target=model.target_,
                          seed=model.seed)
    k = min(DCR_ROWS, len(val_idx))
    enc_val = model.encode(features.iloc[val_idx[:k].numpy()])
    enc_train = model.encode(features.iloc[order[:k].numpy()])
    steps_per_epoch = max(1, math.ceil(len(train_idx) / max(1, min(cfg.batch_size,
                                                                    len(train_idx)))))
    cfg.monitor_every = max(1, round(CHECK_STEPS / steps_per_epoch))

    def monitor(_: torch.nn.Module) -> dict[str, Any]:
        check_labels = None
        if model.target_ is not None:
            prior = torch.tensor(model.class_prior_, dtype=torch.float64)
            check_labels = torch.multinomial(
                prior, CHECK_ROWS, replacement=True,
                generator=torch.Generator().manual_seed(model.seed + 17))
        gen = torch.Generator(device=model.device_).manual_seed(model.seed + 17)
        x = model.generate_encoded(CHECK_ROWS, check_labels, gen)
        frame = model.decode(x)
        out = probe(model._finish_frame(frame, check_labels)).to_dict()
        share = _dcr_share(x[:DCR_ROWS], enc_train, enc_val)
        out["dcr_share"] = round(share, 4)
        out["score"] = round(out["score"] + 2.0 * max(0.0, share - DCR_SHARE_FREE), 4)
        return out

    return monitor
