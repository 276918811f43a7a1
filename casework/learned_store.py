"""The models routing uses, kept in the database: the corpus model retrained with people's corrections,
the correction-only model, and the cache that loads the newest of them once per version (split out of
casework.opening)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.models import Case, LearnedModelRecord, RoutingCorrection
from intake.models import Report
from routing.learned import LearnedModel
from routing.model import CorpusModel, load_model, shipped_model
from routing.taxonomy import Taxonomy


def training_examples(session: Session) -> list[tuple[str, str | None]]:
    """(title + text, item) from the newest item correction of each case."""
    rows = session.execute(
        select(RoutingCorrection.case_id, RoutingCorrection.new_item, Report.title, Report.text)
        .join(Case, Case.id == RoutingCorrection.case_id).join(Report, Report.id == Case.report_id)
        .where(RoutingCorrection.item_changed.is_(True)).order_by(RoutingCorrection.id)).all()
    latest: dict[int, tuple[str, str | None]] = {}
    for case_id, item, title, text in rows:
        latest[case_id] = (f"{title}\n{text}", item)
    return list(latest.values())


def retrain(session: Session) -> LearnedModelRecord | None:
    """Train the learned model on every correction; store it if it is new. None without examples."""
    examples = training_examples(session)
    if not examples:
        return None
    model = LearnedModel.train(examples)
    existing = session.scalar(select(LearnedModelRecord).where(LearnedModelRecord.version == model.version))
    if existing is not None:
        return existing
    record = LearnedModelRecord(version=model.version, examples=len(examples), payload=model.to_bytes())
    session.add(record)
    session.commit()
    return record


def retrain_corpus(session: Session, tax: Taxonomy, train_dir: str | Path | None = None) -> LearnedModelRecord:
    """`flask routing retrain`: the corpus model trained again on the train split (``train_dir``, else
    routing/data/train) plus every correction, learnt on top of it; calibrated and thresholded out of
    fold; stored if new."""
    from routing.train_model import TRAIN_DIR, load_train, train  # scikit-learn: only when training

    rows = load_train(Path(train_dir) if train_dir else TRAIN_DIR)
    if not rows:
        raise ValueError(f"no labelled reports in {train_dir or TRAIN_DIR}")
    examples = training_examples(session)
    model = train(tax, rows, examples)
    existing = session.scalar(select(LearnedModelRecord).where(LearnedModelRecord.version == model.version))
    if existing is not None:
        return existing
    record = LearnedModelRecord(version=model.version, examples=model.n_examples, payload=model.to_bytes())
    session.add(record)
    session.commit()
    return record


@dataclass
class LearnedCache:
    """The model routing uses, loaded once per version: the newest corpus model stored (else the one
    shipped in routing/data/model.json.gz), with the newest correction-only model stored after it."""
    version: str | None = None
    model: CorpusModel | LearnedModel | None = field(default=None, repr=False)
    use_shipped: bool = True
    shipped: CorpusModel | None = field(default=None, repr=False)
    shipped_loaded: bool = False

    def default(self) -> CorpusModel | None:
        if not self.use_shipped:
            return None
        if not self.shipped_loaded:
            self.shipped, self.shipped_loaded = shipped_model(), True
        return self.shipped

    def current(self, session: Session) -> CorpusModel | LearnedModel | None:
        rows = session.execute(select(LearnedModelRecord.id, LearnedModelRecord.version)
                               .order_by(LearnedModelRecord.id.desc()).limit(50)).all()
        key = "|".join(r.version for r in rows[:1]) or None
        if key is not None and key == self.version:
            return self.model
        corpus, corrections = None, None
        for row in rows:   # newest first: corrections until the newest corpus model
            model = load_model(session.get(LearnedModelRecord, row.id).payload)
            if isinstance(model, CorpusModel):
                corpus = model
                break
            corrections = corrections or model
        corpus = corpus or self.default()
        self.model = corpus.with_corrections(corrections) if corpus is not None else corrections
        self.version = key
        return self.model
