"""The review web app (FastAPI): a JSON API over scan runs, the catalog and verdicts, the media it may play, and one
static page (``static/``) that plays query and reference side by side."""

from __future__ import annotations

import getpass
import hmac
import json
import mimetypes
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from fastapi import FastAPI, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from avm import storage
from avm.errors import UserError
from avm.index import FingerprintStore, add_verdict, sql_literal, verdict_rows
from avm.manifest import default_video_id
from avm.match import calibrate_catalog
from avm.media import MediaError
from avm.media.source import check_input
from avm.pipeline import match_file
from avm.results import write_matches
from avm.review.config import ReviewConfig
from avm.review.evidence import SimilarityTracks
from avm.review.runs import QueryFilter, ResultsFolder, query_summaries
from avm.types import VERDICTS, Segment, Verdict

STATIC = Path(__file__).resolve().parent / "static"
TOKEN_COOKIE = "avm_review_token"
PAIR_TOLERANCE = 1e-6  # seconds: a pair named by a request matches a stored one this closely
UPLOAD_CHUNK = 1 << 20
MAX_NOTE = 4000  # characters of a verdict's note


class PairKey(BaseModel):
    """One pair of one run, as the page names it."""

    run_id: str
    query_id: str
    query_start: float
    query_end: float
    ref_id: str
    ref_start: float
    ref_end: float


class VerdictIn(PairKey):
    verdict: str
    note: str = Field("", max_length=MAX_NOTE)


def pair_json(row: dict[str, Any], verdict: dict[str, Any] | None) -> dict[str, Any]:
    """A pair row for the page, with its latest verdict (or None)."""
    keep = ("query_id", "query_start", "query_end", "ref_id", "ref_start", "ref_end", "score", "modality", "n_hits",
            "speed")
    out = {k: row[k] for k in keep}
    out["verdict"] = None if verdict is None else {"verdict": verdict["verdict"], "note": verdict["note"] or "",
                                                   "reviewer": verdict["reviewer"] or "",
                                                   "created_at": verdict["created_at"].isoformat()}
    return out


def same_pair(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two rows name the same pair (ids equal, bounds within ``PAIR_TOLERANCE``)."""
    return (a["query_id"] == b["query_id"] and a["ref_id"] == b["ref_id"] and
            all(abs(a[f] - b[f]) <= PAIR_TOLERANCE for f in ("query_start", "query_end", "ref_start", "ref_end")))


def local_path(uri: str) -> Path | None:
    """The local file a URI names (a plain path or ``file://``), or None for a remote one."""
    scheme = storage.scheme_of(uri)
    if scheme != "file":
        return None
    return Path(unquote(urlparse(uri).path)) if uri.startswith("file://") else Path(uri)


class Review:
    """What the routes share: the config, the store, the results folders and the similarity tracks."""

    def __init__(self, cfg: ReviewConfig) -> None:
        self.cfg = cfg
        self.store = FingerprintStore(cfg.index)
        self.folders = [ResultsFolder(cfg.results, "scan"), ResultsFolder(storage.join(cfg.uploads, "results"),
                                                                          "upload")]
        self.tracks = SimilarityTracks(cfg, self.store)
        self.reviewer = cfg.reviewer or getpass.getuser()

    # --- runs and pairs -------------------------------------------------------------------------------------
    def runs(self) -> list[tuple[ResultsFolder, str, dict[str, Any]]]:
        """Every run of every results folder with its metadata, newest first."""
        found = [(folder, run, folder.meta(run)) for folder in self.folders for run in folder.run_ids()]
        return sorted(found, key=lambda run: run[2].get("finished_at", ""), reverse=True)

    def folder_of(self, run_id: str) -> ResultsFolder:
        for folder in self.folders:
            if run_id in folder.run_ids():
                return folder
        raise HTTPException(404, f"no run {run_id!r}")

    def pair_rows(self, run_id: str, query_id: str) -> list[dict[str, Any]]:
        rows = self.folder_of(run_id).rows(run_id, query_id=query_id).to_pylist()
        return sorted(rows, key=lambda r: (-r["score"], r["query_start"]))

    def find_pair(self, key: PairKey) -> dict[str, Any]:
        row = next((r for r in self.pair_rows(key.run_id, key.query_id) if same_pair(r, key.model_dump())), None)
        if row is None:
            raise HTTPException(404, "no such pair in that run")
        return row

    def latest_verdicts(self, run_id: str, query_id: str | None = None) -> pa.Table:
        return verdict_rows(self.store, run_id=run_id, query_id=query_id)

    # --- media ----------------------------------------------------------------------------------------------
    def catalog_uri(self, video_id: str) -> str | None:
        rows = self.store.videos(["uri", "ingested_at"], where=f"video_id = {sql_literal(video_id)}")
        return rows.sort_by([("ingested_at", "descending")])["uri"][0].as_py() if rows.num_rows else None

    def query_uri(self, run_id: str, query_id: str) -> str | None:
        rows = self.folder_of(run_id).rows(run_id, query_id=query_id, columns=["query_uri"])
        uris = [u for u in rows["query_uri"].to_pylist() if u] if rows.num_rows else []
        return uris[0] if uris else None

    def media_uri(self, run_id: str, side: str, video_id: str) -> str:
        """The file of a query or reference of a run: only what the run or the catalog registered."""
        if side == "query":
            uri = self.query_uri(run_id, video_id) or (self.catalog_uri(video_id) if self.has_query(run_id, video_id)
                                                       else None)
        elif side == "ref":
            uri = self.catalog_uri(video_id) if self.has_reference(run_id, video_id) else None
        else:
            uri = None
        if uri is None:
            raise HTTPException(404, "no such media")
        return uri

    def has_query(self, run_id: str, video_id: str) -> bool:
        return self.folder_of(run_id).rows(run_id, query_id=video_id, columns=["query_id"]).num_rows > 0

    def has_reference(self, run_id: str, video_id: str) -> bool:
        rows = self.folder_of(run_id).rows(run_id, QueryFilter(), columns=["ref_id"])
        return video_id in set(rows["ref_id"].to_pylist())

    # --- uploads --------------------------------------------------------------------------------------------
    def match_upload(self, upload: UploadFile) -> dict[str, Any]:
        """Store an uploaded file, match it against the catalog, write the result as a run of the uploads folder."""
        name = Path(upload.filename or "").name
        name = name if name not in ("", ".", "..") else "upload"
        folder = Path(self.cfg.uploads) / "files" / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True, exist_ok=True)
        path, limit, size = folder / name, self.cfg.max_upload_mb * (1 << 20), 0
        with path.open("wb") as out:
            while chunk := upload.file.read(UPLOAD_CHUNK):
                size += len(chunk)
                if size > limit:
                    out.close()
                    shutil.rmtree(folder, ignore_errors=True)
                    raise HTTPException(413, f"{name}: larger than {self.cfg.max_upload_mb} MB")
                out.write(chunk)
        cfg = self.cfg.match_config()
        try:
            check_input(str(path), cfg.media.allowed_schemes)
            segments = match_file(cfg, str(path))
            calibration = calibrate_catalog(self.store, cfg.match.per_modality(cfg.model.modalities), cfg.search)
        except (MediaError, UserError, ValueError) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise HTTPException(422, f"{name}: {exc}") from exc
        query_id = default_video_id(str(path))
        run_id = f"upload-{uuid.uuid4().hex[:12]}"
        refs = {s.ref_id: self.catalog_uri(s.ref_id) for s in segments}
        write_matches(segments, self.folders[1].root,
                      {"run_id": run_id, "mode": "upload", "file": name, "queries": 1,
                       "finished_at": datetime.now(UTC).isoformat(), "calibration": json.loads(calibration.to_json())},
                      {query_id: str(path)}, {k: v for k, v in refs.items() if v})
        return {"run_id": run_id, "query_id": query_id, "pairs": len(segments)}


def create_app(cfg: ReviewConfig, token: str | None = None) -> FastAPI:
    """The app over ``cfg``'s store and results; every request must carry ``token`` when one is given."""
    review = Review(cfg)
    app = FastAPI(title="AVM review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.review = review

    if token:
        @app.middleware("http")
        async def require_token(request: Request, call_next: Any) -> Response:
            given = (request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)
                     or request.headers.get("authorization", "").removeprefix("Bearer "))
            if not hmac.compare_digest(given.encode(), token.encode()):
                return JSONResponse({"detail": "a valid token is required"}, status_code=401)
            response = await call_next(request)
            if request.query_params.get("token"):
                response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
            return response

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/")
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/api/runs")
    def runs(offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=500)) -> dict[str, Any]:
        found = review.runs()
        listed = []
        for folder, run_id, meta in found[offset:offset + limit]:
            listed.append({"run_id": run_id, "kind": folder.kind, "finished_at": meta.get("finished_at"),
                           "mode": meta.get("mode"), "queries": meta.get("queries"), "file": meta.get("file")})
        return {"runs": listed, "total": len(found)}

    @app.get("/api/runs/{run_id}/queries")
    def queries(run_id: str, text: str = "", ref: str = "", min_score: float | None = None, evidence: str = "",
                verdict: str = "", offset: int = Query(0, ge=0), limit: int | None = Query(None, ge=1, le=1000)
                ) -> dict[str, Any]:
        where = QueryFilter(text=text, ref=ref, min_score=min_score, evidence=evidence)
        rows = review.folder_of(run_id).rows(run_id, where, columns=["query_id", "ref_id", "score", "modality"])
        judged = review.latest_verdicts(run_id)
        reviewed: dict[str, int] = {}
        for q in judged["query_id"].to_pylist():
            reviewed[q] = reviewed.get(q, 0) + 1
        listed = query_summaries(rows, reviewed)
        if verdict == "unreviewed":
            listed = [q for q in listed if q["reviewed"] < q["pairs"]]
        elif verdict in VERDICTS:
            said = {r["query_id"] for r in judged.to_pylist() if r["verdict"] == verdict}
            listed = [q for q in listed if q["query_id"] in said]
        size = limit or cfg.page_size
        return {"queries": listed[offset:offset + size], "total": len(listed), "offset": offset, "limit": size}

    @app.get("/api/runs/{run_id}/queries/{query_id}")
    def pairs(run_id: str, query_id: str) -> dict[str, Any]:
        rows = review.pair_rows(run_id, query_id)
        if not rows:
            raise HTTPException(404, f"run {run_id} has no pair of {query_id!r}")
        latest = review.latest_verdicts(run_id, query_id).to_pylist()
        listed = []
        for row in rows:
            said = [v for v in latest if same_pair(v, row)]
            listed.append(pair_json(row, said[-1] if said else None))
        thresholds = {m: o.get("align", {}).get("min_similarity")
                      for m, o in (review.folder_of(run_id).meta(run_id).get("calibration") or {})
                      .get("options", {}).items()}
        return {"run_id": run_id, "query_id": query_id, "pairs": listed, "hit_thresholds": thresholds}

    @app.get("/api/track")
    def track(key: PairKey = Query()) -> dict[str, Any]:  # noqa: B008 (FastAPI's query model)
        row = review.find_pair(key)
        pair = Segment.from_row(row)
        prints = review.tracks.query_prints(pair, row.get("query_uri"), review.catalog_uri(pair.query_id))
        return review.tracks.track(pair, prints)

    @app.get("/media/{run_id}/{side}/{video_id}")
    def media(run_id: str, side: str, video_id: str) -> Response:
        uri = review.media_uri(run_id, side, video_id)
        path = local_path(uri)
        if path is None:
            url = storage.presigned_url(uri) if storage.is_object_store(uri) else uri
            return RedirectResponse(url, status_code=307)
        if not path.is_file():
            raise HTTPException(404, "the file is no longer there")
        return FileResponse(path, media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream")

    @app.post("/api/verdicts")
    def save_verdict(body: VerdictIn) -> dict[str, Any]:
        if body.verdict not in VERDICTS:
            raise HTTPException(422, f"verdict must be one of {list(VERDICTS)}")
        row = review.find_pair(body)
        verdict = Verdict(body.run_id, Segment.from_row(row), body.verdict, body.note, review.reviewer)
        add_verdict(review.store, verdict)
        return pair_json(row, verdict.to_row())

    @app.get("/api/runs/{run_id}/verdicts/summary")
    def verdict_summary(run_id: str) -> dict[str, Any]:
        review.folder_of(run_id)
        latest = review.latest_verdicts(run_id).to_pylist()
        out: dict[str, Any] = {}
        for evidence in sorted({v["modality"] for v in latest}) + ["all"]:
            said = [v["verdict"] for v in latest if evidence in ("all", v["modality"])]
            copies, not_copies = said.count("copy"), said.count("not_copy")
            out[evidence] = {"reviewed": len(said), "copy": copies, "not_copy": not_copies,
                             "unsure": said.count("unsure"),
                             "precision": copies / (copies + not_copies) if copies + not_copies else None}
        return out

    @app.get("/api/verdicts.{fmt}")
    def export_verdicts(fmt: str, run_id: str | None = None, history: bool = False) -> Response:
        rows = verdict_rows(review.store, run_id=run_id, history=history)
        sink = pa.BufferOutputStream()
        if fmt == "csv":
            pacsv.write_csv(rows, sink)
            media_type = "text/csv"
        elif fmt == "parquet":
            pq.write_table(rows, sink)
            media_type = "application/vnd.apache.parquet"
        else:
            raise HTTPException(404, "export as verdicts.csv or verdicts.parquet")
        return Response(sink.getvalue().to_pybytes(), media_type=media_type,
                        headers={"content-disposition": f'attachment; filename="verdicts.{fmt}"'})

    @app.post("/api/match")
    def match_upload(file: UploadFile) -> dict[str, Any]:
        return review.match_upload(file)

    return app
