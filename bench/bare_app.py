"""The baseline for bench_intake.py: a bare Flask + SQLAlchemy endpoint that inserts one row per request
into the same database, served by the same gunicorn. Nothing else: no validation, receipt, routing."""
import os
from datetime import datetime, timezone

from flask import Flask, jsonify, request
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, create_engine, insert

engine = create_engine(os.environ["DATABASE_URL"], connect_args={"timeout": 30}
                       if os.environ["DATABASE_URL"].startswith("sqlite") else {})
meta = MetaData()
rows = Table("bare_reports", meta, Column("id", Integer, primary_key=True), Column("text", Text),
             Column("created_at", DateTime))
meta.create_all(engine, checkfirst=True)
app = Flask(__name__)


@app.post("/api/v1/reports")
def create():
    data = request.get_json(force=True)
    with engine.begin() as conn:
        new_id = conn.execute(insert(rows).values(text=data.get("text", ""), created_at=datetime.now(timezone.utc))
                              .returning(rows.c.id)).scalar_one()
    return jsonify({"id": new_id}), 201
