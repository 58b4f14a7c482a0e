"""The ``dlzoo`` command line: every pipeline step, each reading its defaults from params.yaml.

    dlzoo list                                  # the course map
    dlzoo pipeline [--check]                    # dvc.yaml, derived from the registry
    dlzoo data translation                      # generate a dataset
    dlzoo search c2w3_softmax                   # Ray Tune random search (coarse, then fine)
    dlzoo train translation [--workers 2]       # Ray Train
    dlzoo evaluate translation [--data DIR]     # held-out metrics
    dlzoo evaluate face --data PHOTOS [--backend dlib]   # detect, align, embed each <identity>/<photo>
    dlzoo backends face                         # the pretrained face backend beside the trained one
    dlzoo face reenroll [--backend dlib]        # the face gallery embedded again by another model
    dlzoo train-dev translation                 # new draws of the training distribution (Course 3)
    dlzoo strategy translation                  # reports/translation/strategy.md: bias, variance, mismatch
    dlzoo package translation                   # model-store/translation.mar
    dlzoo serve start|status|token|stop         # TorchServe + metrics exporter
    dlzoo compare case_studies                  # reports/compare/case_studies.md: cost beside accuracy
    dlzoo curve transfer                        # reports/compare/transfer_curve.md: labelled examples needed
    dlzoo stylize --content me.jpg --style starry_night.jpg --out me.png   # neural style transfer (C4W4)
    dlzoo scoreboard                            # reports/scoreboard.md

Global options: ``--params FILE``, ``--profile NAME`` (profiles/NAME.yaml merged over it), ``--set a.b=v``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pipelines import registry
from pipelines.params import load_params, section


class CliError(click.ClickException):
    """An error the user can fix: printed without a traceback, exit code 1."""


def _params(ctx: click.Context) -> dict:
    return ctx.obj["params"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--params", "params_file", default="params.yaml", show_default=True,
              help="Parameters file (run from the project root).")
@click.option("--profile", default=None, help="Profile merged over the params file: profiles/<NAME>.yaml "
              "(smoke = tiny data and one epoch, cluster = real scale).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override one parameter, e.g. --set translation.train.epochs=3 (repeatable).")
@click.pass_context
def cli(ctx: click.Context, params_file: str, profile: str | None, overrides: tuple[str, ...]) -> None:
    """dlzoo: the Deep Learning Specialization's models as reproducible, distributed, served software."""
    try:
        ctx.obj = {"params": load_params(params_file, profile, overrides)}
    except (FileNotFoundError, ValueError) as err:
        raise CliError(str(err)) from err


@cli.command("list")
def list_models() -> None:
    """Print the course map: every registered model, its course/week, dataset and service."""
    rows = [(s.course, s.name, s.dataset, s.service or "-", s.title) for s in
            sorted(registry.MODELS.values(), key=lambda s: s.course)]
    header = ("course", "model", "dataset", "service", "what")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
    for row in [header, *rows]:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4])


@cli.group("params")
def params_group() -> None:
    """Inspect the effective parameters."""


@params_group.command("show")
@click.pass_context
def params_show(ctx: click.Context) -> None:
    """Print the merged parameters (params file + profile + --set) as YAML."""
    import yaml

    click.echo(yaml.safe_dump(_params(ctx), sort_keys=False))


@cli.command("pipeline")
@click.option("--check", is_flag=True, help="Only compare: exit 1 when dvc.yaml is not what the registry gives.")
@click.pass_context
def pipeline_cmd(ctx: click.Context, check: bool) -> None:
    """Write dvc.yaml from the registry: every model's stages, their params and their code's import closure."""
    from pipelines import pipeline

    if check:
        problems = pipeline.check(_params(ctx))
        if problems:
            raise CliError("dvc.yaml is out of date (run `dlzoo pipeline`): " + "; ".join(problems))
        click.echo("dvc.yaml is up to date")
        return
    changed = pipeline.write(_params(ctx))
    click.echo(f"{'wrote' if changed else 'unchanged:'} {pipeline.DVC_YAML.name}")


@cli.command("repro")
@click.argument("targets", nargs=-1)
@click.option("--force", "-f", is_flag=True, help="Run the stages even if nothing changed (dvc repro --force).")
@click.pass_context
def repro_cmd(ctx: click.Context, targets: tuple[str, ...], force: bool) -> None:
    """`dvc repro [TARGETS]` with a line per stage: its number, the time so far and an ETA."""
    from pipelines import repro

    try:
        rc = repro.run(list(targets), ctx.parent.params["params_file"], ["--force"] if force else [])
    except ValueError as err:
        raise CliError(str(err)) from err
    if rc:
        sys.exit(rc)


@cli.command("data")
@click.argument("dataset")
@click.option("--seed", type=int, default=None, help="Random seed (default: the dataset's params seed).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output directory (default: the dataset's params `out`).")
@click.option("--backgrounds", type=click.Path(file_okay=False), default=None,
              help="Folder of background photos (detection) or recordings (trigger_word).")
@click.option("--positives", type=click.Path(file_okay=False), default=None,
              help="Folder of real trigger-word recordings mixed into the synthesis (trigger_word).")
@click.option("--negatives", type=click.Path(file_okay=False), default=None,
              help="Folder of real non-trigger-word recordings (trigger_word).")
@click.pass_context
def data_cmd(ctx: click.Context, dataset: str, seed: int | None, out: str | None, **folders) -> None:
    """Generate DATASET deterministically from its seed, in its standard format."""
    try:
        spec = registry.dataset(dataset)
    except KeyError as err:
        raise CliError(str(err.args[0])) from err
    everything = _params(ctx)
    params = section(everything, spec.params_section)
    if spec.source:  # a feature cache reads the folder its source dataset is written to
        params["source"] = section(everything, registry.dataset(spec.source).params_section)["out"]
    for key, folder in folders.items():
        if folder is None:
            continue
        if key not in params:
            raise CliError(f"dataset {dataset!r} takes no --{key} folder")
        if not Path(folder).is_dir():
            raise CliError(f"--{key} {folder}: not a directory")
        params[key] = folder
    out_dir = Path(out or params["out"])
    try:
        summary = spec.write(params, out_dir, seed)
    except (ValueError, FileNotFoundError) as err:  # the writers' way to name a bad param or a missing input
        raise CliError(str(err)) from err
    click.echo(f"wrote {dataset} to {out_dir}: {json.dumps(summary)}")


def _model(name: str) -> registry.ModelSpec:
    try:
        return registry.get(name)
    except KeyError as err:
        raise CliError(str(err.args[0])) from err


def _data_dir(params: dict, spec: registry.ModelSpec) -> Path:
    return Path(section(params, registry.dataset(spec.dataset).params_section)["out"])


@cli.command("train")
@click.argument("model")
@click.option("--workers", type=int, default=None, help="Ray Train workers (default: ray.num_workers).")
@click.option("--gpu/--no-gpu", default=None, help="Train on GPUs (default: ray.use_gpu).")
@click.option("--epochs", type=int, default=None, help="Epochs (default: <model>.train.epochs).")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), default=None,
              help="Training data directory (default: the dataset's params `out`).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Artifacts directory (default: artifacts/<model>).")
@click.option("--no-ray", is_flag=True, help="Run the same loop in this process without Ray.")
@click.option("--verbose", is_flag=True, help="Also show Ray Train's own log lines (else in Ray's log folder).")
@click.option("--ignore-search", is_flag=True,
              help="Train with params.yaml's settings even when `dlzoo search` has chosen others.")
@click.pass_context
def train_cmd(ctx, model, workers, gpu, epochs, data_dir, out, no_ray, verbose, ignore_search) -> None:
    """Train MODEL through Ray Train; writes artifacts/<model>/{model.pt,metrics.json,history.csv}."""
    import os

    from pipelines.training.driver import train

    if verbose:
        os.environ["DLZOO_VERBOSE"] = "1"

    spec = _model(model)
    params = _params(ctx)
    if spec.search and not ignore_search:
        from pipelines.training.search import search_dir, with_best

        params, best = with_best(params, model)
        if best is None:
            click.echo(f"[dlzoo] {model}: no search result in {search_dir(model)}; training with params.yaml's "
                       f"settings (`dlzoo search {model}` chooses them on dev)")
        else:
            click.echo(f"[dlzoo] {model}: the search's best trial ({best['metric']} {best['value']:.4f}) sets "
                       + ", ".join(f"{k}={v}" for k, v in best["settings"].items()))
    if workers is not None:
        params["ray"]["num_workers"] = workers
    if gpu is not None:
        params["ray"]["use_gpu"] = gpu
    if epochs is not None:
        section(params, model)["train"]["epochs"] = epochs
    data = Path(data_dir) if data_dir else _data_dir(params, spec)
    if not data.is_dir():
        raise CliError(f"training data {data} does not exist: run `dlzoo data {spec.dataset}` first")
    use_ray = spec.ray and not no_ray
    if not use_ray:  # the Ray path prints its own line (run name, workers, storage)
        why = "--no-ray" if no_ray else "numpy code, registered with ray=False"
        click.echo(f"[dlzoo] training {model} in this process, the same loop without a Ray worker group ({why})")
    metrics = train(model, params, data, Path(out or f"artifacts/{model}"), use_ray=use_ray)
    click.echo(json.dumps(metrics, indent=2))


@cli.command("search")
@click.argument("model")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), default=None,
              help="Training data directory (default: the dataset's params `out`).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Where best.json, trials.csv and trials.png go (default: artifacts/<model>/search).")
@click.pass_context
def search_cmd(ctx, model, data_dir, out) -> None:
    """Random search on Ray Tune over MODEL's `search` params (coarse, then finer rounds); the best trial's
    settings go to best.json, which `dlzoo train MODEL` then applies."""
    from pipelines.training.search import run_search

    spec = _model(model)
    params = _params(ctx)
    data = Path(data_dir) if data_dir else _data_dir(params, spec)
    if not data.is_dir():
        raise CliError(f"training data {data} does not exist: run `dlzoo data {spec.dataset}` first")
    try:
        best = run_search(model, params, data, Path(out) if out else None)
    except (KeyError, ValueError) as err:
        raise CliError(str(err.args[0]) if isinstance(err, KeyError) else str(err)) from err
    click.echo(json.dumps(best, indent=2))


@cli.command("evaluate")
@click.argument("model")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), default=None,
              help="Any dataset in the model's standard format (default: the pipeline's held-out splits).")
@click.option("--model-file", type=click.Path(dir_okay=False), default=None,
              help="Trained model (default: artifacts/<model>/model.pt).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Where metrics.json and details.json go (default: reports/<model>, "
                   "or reports/<model>/<data dir name> with --data).")
@click.option("--face", "face_mode", type=click.Choice(["detect", "as_is"]), default=None,
              help="face --data only: find and align the face in each photo (detect, the default with --data), or "
                   "take each image whole as a crop (as_is: the pipeline's synthetic splits).")
@click.option("--backend", type=click.Choice(["course", "dlib"]), default="course", show_default=True,
              help="face --data only: the embedding (course: the trained network; dlib: dlib's real-face ResNet).")
@click.pass_context
def evaluate_cmd(ctx, model, data_dir, model_file, out, face_mode, backend) -> None:
    """Evaluate MODEL on held-out data; prints and writes metrics.json (+ details.json)."""
    from pipelines.training.artifacts import load_model

    spec = _model(model)
    params = _params(ctx)
    data = Path(data_dir) if data_dir else _data_dir(params, spec)
    out_dir = Path(out) if out else Path("reports") / model / (data.name if data_dir else "")
    try:
        if model == "face" and data_dir and (face_mode != "as_is" or backend != "course"):
            metrics, details = _evaluate_photos(params, data, Path(model_file or "artifacts/face/model.pt"),
                                                face_mode or "detect", backend)
            extra = {}
        else:
            net, bundle = load_model(Path(model_file or f"artifacts/{model}/model.pt"))
            task = spec.task_class()(section(params, model), bundle["meta"])
            metrics, details = task.evaluate(net, data)
            # further files for a human (a table, a plot): a task with a ``reports`` method, named in the registry
            extra = task.reports(net, data, metrics) if spec.reports else {}
    except (FileNotFoundError, ValueError) as err:
        raise CliError(str(err)) from err
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, blob in extra.items():
        (out_dir / name).write_bytes(blob)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out_dir / "details.json").write_text(json.dumps(details, indent=2, ensure_ascii=False) + "\n")
    click.echo(json.dumps(metrics, indent=2))
    click.echo(f"wrote {out_dir / 'metrics.json'}", err=True)


def _evaluate_photos(params: dict, data: Path, model_file: Path, mode: str, backend_name: str) -> tuple[dict, dict]:
    """``dlzoo evaluate face --data DIR``: a folder of <identity>/<photo>, each photo's largest face found and
    aligned (or taken as is), embedded by the backend, scored as the synthetic test is."""
    from tqdm import tqdm

    from pipelines.realface import evaluate
    from pipelines.realface.backends import load_backend
    from pipelines.realface.report import detect_settings

    backend = load_backend(backend_name, model_file)
    with tqdm(desc=f"faces in {data.name} ({mode})", unit="identity") as bar:
        metrics, details, counts = evaluate.score_folder(backend, data, int(params["face"]["train"]["seed"]), mode,
                                                         detect_settings(params), bar.update)
    return ({"backend": backend.model_id, "face": mode, "threshold": backend.threshold,
             data.name: {**metrics, "no_face": counts["no_face"]}},
            {**details, "no_face_files": counts["no_face_files"]})


@cli.command("train-dev")
@click.argument("dataset")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Where the train-dev split goes (default: <dataset out>_train_dev).")
@click.pass_context
def train_dev_cmd(ctx, dataset, out) -> None:
    """Write DATASET's train-dev split: examples of its training distribution that no model trains on
    (strategy.train_dev.<dataset> of them), for `dlzoo strategy`."""
    from pipelines.strategy.train_dev import train_dev_dir, write_train_dev

    params = _params(ctx)
    try:
        spec = registry.dataset(dataset)
        target = Path(out) if out else train_dev_dir(params, spec)
        summary = write_train_dev(dataset, params, target)
    except (KeyError, FileNotFoundError, ValueError) as err:
        raise CliError(str(err.args[0]) if isinstance(err, KeyError) else str(err)) from err
    click.echo(f"wrote {dataset}'s train-dev split to {target}: {json.dumps(summary)}")


@cli.command("strategy")
@click.argument("model")
@click.option("--model-file", type=click.Path(dir_okay=False), default=None,
              help="Trained model (default: artifacts/<model>/model.pt).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Where strategy.md, strategy.json and strategy/ go (default: reports/<model>).")
@click.option("--metric", default=None, help="The metric whose 1 - value is the error (default: the headline's).")
@click.pass_context
def strategy_cmd(ctx, model, model_file, out, metric) -> None:
    """Course 3's strategy report for MODEL: train, train-dev, dev and test error against its human-level proxy,
    avoidable bias / variance / data mismatch, the course's recommendation, and a sample of errors."""
    from pipelines.strategy.report import measure

    _model(model)
    try:
        result = measure(model, _params(ctx), Path(model_file) if model_file else None, Path(out) if out else None,
                         metric)
    except (KeyError, FileNotFoundError, ValueError) as err:
        raise CliError(str(err.args[0]) if isinstance(err, KeyError) else str(err)) from err
    click.echo(json.dumps({k: result[k] for k in ("errors", "main", "advice")}, indent=2))


@cli.command("backends")
@click.argument("model")
@click.pass_context
def backends_cmd(ctx, model) -> None:
    """Score MODEL's pretrained backends beside its trained network (the registry's ``backends`` module): writes
    artifacts/<model>/backends/ and reports/<model>/backends.{json,md}."""
    import importlib

    spec = _model(model)
    if not spec.backends:
        raise CliError(f"{model} has no pretrained backends in the registry")
    params = _params(ctx)
    try:
        metrics = importlib.import_module(spec.backends).run(params, _data_dir(params, spec),
                                                             echo=lambda m: click.echo(m, err=True))
    except (FileNotFoundError, ValueError, RuntimeError) as err:
        raise CliError(str(err)) from err
    click.echo(json.dumps(metrics, indent=2))


@cli.group("face")
def face_group() -> None:
    """The face service's gallery tools."""


@face_group.command("reenroll")
@click.option("--gallery", type=click.Path(dir_okay=False), default=None,
              help="The gallery (default: the server's, <serve.run_dir>/<serve.services.face.gallery>).")
@click.option("--backend", type=click.Choice(["course", "dlib"]), default=None,
              help="Embed with this backend (default: serve.services.face.backend).")
@click.option("--model-file", type=click.Path(dir_okay=False), default="artifacts/face/model.pt", show_default=True,
              help="The course network (backend course).")
@click.option("--drop-unrecoverable", is_flag=True,
              help="Delete rows enrolled before the gallery kept faces (they cannot be embedded again).")
@click.pass_context
def face_reenroll_cmd(ctx, gallery, backend, model_file, drop_unrecoverable) -> None:
    """Embed every enrolled face again with BACKEND (after a model change or a backend switch), in one
    transaction; the running service answers with the new embeddings at once."""
    from pipelines.realface.reenroll import reenroll
    from pipelines.serving.server import Server

    params = _params(ctx)
    path = Path(gallery) if gallery else Server.from_params(params).face_gallery
    name = backend or params["serve"]["services"]["face"]["backend"]
    try:
        report = reenroll(path, name, Path(model_file), drop_unrecoverable)
    except (FileNotFoundError, ValueError) as err:
        raise CliError(str(err)) from err
    click.echo(json.dumps(report, indent=2))
    if report["unrecoverable"] and not drop_unrecoverable:
        raise CliError(f"{report['unrecoverable']} rows were enrolled before the gallery kept faces and still hold "
                       f"another model's embeddings: enroll those people again, or --drop-unrecoverable")


@cli.command("package")
@click.argument("service")
@click.option("--model-file", type=click.Path(dir_okay=False), default=None,
              help="Trained model (default: artifacts/<model>/model.pt).")
@click.option("--store", type=click.Path(file_okay=False), default="model-store", show_default=True,
              help="Where the .mar goes.")
@click.pass_context
def package_cmd(ctx, service, model_file, store) -> None:
    """Build model-store/<SERVICE>.mar with torch-model-archiver (version = the weights' hash)."""
    from pipelines.serving.package import package

    try:
        mar = package(service, _params(ctx), Path(model_file) if model_file else None, Path(store))
    except (FileNotFoundError, KeyError, ValueError) as err:
        raise CliError(str(err.args[0] if isinstance(err, KeyError) else err)) from err
    click.echo(f"wrote {mar}")


@cli.group("serve")
def serve_group() -> None:
    """Run the packaged services on TorchServe (token auth, 127.0.0.1) with a metrics exporter."""


def _server(ctx, **overrides):
    from pipelines.serving.server import Server

    return Server.from_params(_params(ctx), **overrides)


@serve_group.command("start")
@click.option("--store", type=click.Path(file_okay=False), default=None, help="Model store directory.")
@click.option("--inference-port", type=int, default=None, help="Inference API port (default 8080).")
@click.option("--management-port", type=int, default=None, help="Management API port (8081).")
@click.option("--metrics-port", type=int, default=None, help="TorchServe metrics port (8082).")
@click.option("--exporter-port", type=int, default=None, help="dlzoo latency-histogram exporter port (8083).")
@click.option("--grpc-inference-port", type=int, default=None, help="gRPC inference port (7070, 127.0.0.1).")
@click.option("--grpc-management-port", type=int, default=None, help="gRPC management port (7071, 127.0.0.1).")
@click.option("--worker-port", type=int, default=None,
              help="First backend-worker socket port (9000); distinct per server on one machine.")
@click.option("--run-dir", type=click.Path(file_okay=False), default=None,
              help="Where the key file, logs and runtime config live (default .serve).")
@click.pass_context
def serve_start(ctx, store, run_dir, **ports) -> None:
    """Start TorchServe with every packaged service and print the endpoints and an example curl.

    Every port of one server must differ (a second server on the same machine needs its own set)."""
    try:
        server = _server(ctx, store=store, run_dir=run_dir, **ports)
        server.start()
    except (FileNotFoundError, RuntimeError, ValueError) as err:
        raise CliError(str(err)) from err
    click.echo(server.describe())


@serve_group.command("stop")
@click.option("--run-dir", type=click.Path(file_okay=False), default=None, help="As given to `serve start`.")
@click.pass_context
def serve_stop(ctx, run_dir) -> None:
    """Stop TorchServe and the exporter cleanly."""
    click.echo(_server(ctx, run_dir=run_dir).stop())


@serve_group.command("status")
@click.option("--run-dir", type=click.Path(file_okay=False), default=None, help="As given to `serve start`.")
@click.pass_context
def serve_status(ctx, run_dir) -> None:
    """Show whether TorchServe answers and which models it serves."""
    status = _server(ctx, run_dir=run_dir).status()
    click.echo(json.dumps(status, indent=2))
    if not status["healthy"]:
        sys.exit(1)


@serve_group.command("token")
@click.option("--run-dir", type=click.Path(file_okay=False), default=None, help="As given to `serve start`.")
@click.option("--kind", type=click.Choice(["inference", "management"]), default="inference",
              show_default=True, help="Which key to print.")
@click.pass_context
def serve_token(ctx, run_dir, kind) -> None:
    """Print the TorchServe bearer token (from the key file `serve start` wrote)."""
    try:
        click.echo(_server(ctx, run_dir=run_dir).token(kind))
    except FileNotFoundError as err:
        raise CliError(str(err)) from err


@cli.command("compare")
@click.argument("table")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="Threads of the inference-speed measurement (one: a per-core figure).")
def compare_cmd(table, threads) -> None:
    """Compare the models of TABLE (the registry's ``compare``): headline, parameters, FLOPs, training minutes
    and inference images/s, in reports/compare/<table>.{md,json}."""
    from pipelines.evaluation.compare import OUT, render, write

    try:
        rows = write(table, threads=threads, echo=lambda m: click.echo(m, err=True))
    except (KeyError, FileNotFoundError) as err:
        raise CliError(str(err.args[0]) if isinstance(err, KeyError) else str(err)) from err
    click.echo(render(table, rows, threads), nl=False)
    click.echo(f"wrote {OUT / table}.md", err=True)


@cli.command("curve")
@click.argument("table")
@click.pass_context
def curve_cmd(ctx, table) -> None:
    """Train the curve members of TABLE (the registry's ``compare``, ``curve=True``) again on the first n training
    examples for each of their ``curve.sizes``; writes reports/compare/<table>_curve.{md,json}."""
    from pipelines.evaluation.curve import OUT, render, write

    params = _params(ctx)
    try:
        rows = write(table, params, lambda spec: _data_dir(params, spec), echo=lambda m: click.echo(m, err=True))
    except (KeyError, FileNotFoundError, ValueError) as err:
        raise CliError(str(err.args[0]) if isinstance(err, KeyError) else str(err)) from err
    click.echo(render(table, rows), nl=False)
    click.echo(f"wrote {OUT / table}_curve.md", err=True)


@cli.command("stylize")
@click.option("--content", required=True, type=click.Path(dir_okay=False), help="The photo to repaint.")
@click.option("--style", required=True, type=click.Path(dir_okay=False), help="The painting whose style to take.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Where the picture goes (.png, .jpg).")
@click.option("--model", default="c4w4_style_transfer", show_default=True,
              help="Whose params to use: feature network, layers, alpha, beta, learning rate, steps.")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Adam steps (default: <model>.train.steps).")
@click.option("--size", type=click.IntRange(16, 2048), default=None,
              help="Longer side of the output in pixels (default: data_style.size).")
@click.pass_context
def stylize_cmd(ctx, content, style, out, model, steps, size) -> None:
    """Neural style transfer (C4W4) of your own pictures: CONTENT repainted in STYLE's manner, the course's costs
    optimised by Adam on the pixels, with a progress bar."""
    from pipelines.tasks.style_transfer import stylize_file

    params = _params(ctx)
    spec = _model(model)
    if spec.task != "pipelines.tasks.style_transfer:StyleTransferTask":
        raise CliError(f"--model {model} is not a style-transfer model")
    section_ = section(params, model)
    data = section(params, "data_style")
    steps = steps or int(section_["train"]["steps"])
    state = {"costs": {}}
    try:
        with click.progressbar(length=steps, label=f"stylizing {Path(content).name}", file=sys.stderr,
                               show_pos=True, item_show_func=lambda _: (f"J {state['costs']['total']:.4g}"
                                                                        if state["costs"] else None)) as bar:
            def progress(costs):
                state["costs"] = costs
                bar.update(1)

            costs = stylize_file(Path(content), Path(style), Path(out), section_, size or int(data["size"]),
                                 int(data["style_size"]), steps, progress)
    except (FileNotFoundError, ValueError, RuntimeError) as err:
        raise CliError(str(err)) from err
    click.echo(json.dumps({"out": out, "steps": steps, "costs": costs}, indent=2))


def _trained(ctx, kind: str, entry: tuple[str, str], model: str | None, model_file: str | None):
    """(task, network) of a trained model of ``kind`` for ``dlzoo generate`` / ``predict``: ``entry`` is the
    kind's (default model, task class); a model or model file of another task is a clear error."""
    from pipelines.training.artifacts import load_model

    default, task = entry
    spec = _model(model or default)
    if spec.task != task:
        raise CliError(f"--model {spec.name} is not one of the {kind} models")
    try:
        net, bundle = load_model(Path(model_file or f"artifacts/{spec.name}/model.pt"))
    except FileNotFoundError as err:
        raise CliError(str(err)) from err
    if registry.get(bundle["model_name"]).task != task:
        raise CliError(f"--model-file {model_file} holds {bundle['model_name']}, not one of the {kind} models")
    return spec.task_class()(section(_params(ctx), bundle["model_name"]), bundle["meta"]), net


# what `dlzoo generate KIND` draws from: the model it loads by default, and the task whose models may be chosen
GENERATORS = {"charlm": ("c5w1_charlm_lstm", "pipelines.tasks.charlm:CharLMTask"),
              "music": ("c5w1_music_lstm", "pipelines.tasks.music:MusicTask")}


@cli.command("generate")
@click.argument("kind", type=click.Choice(sorted(GENERATORS)))
@click.option("--n", "count", type=click.IntRange(1, 100_000), default=None,
              help="How many to draw  [default: charlm 20 names, music 1 piece].")
@click.option("--temperature", type=click.FloatRange(min=0.0, min_open=True), default=0.8, show_default=True,
              help="Softmax temperature: below 1 safer, above 1 more adventurous.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the draw.")
@click.option("--model", default=None,
              help="Which trained model (default: charlm c5w1_charlm_lstm, the lower dev loss; music c5w1_music_lstm).")
@click.option("--model-file", type=click.Path(dir_okay=False), default=None,
              help="Trained model (default: artifacts/<model>/model.pt).")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="charlm: a text file for the names (default: print them); music: the MIDI file to write "
                   "(required; with --n above 1, x.mid becomes x-1.mid, x-2.mid, ...).")
@click.pass_context
def generate_cmd(ctx, kind, count, temperature, seed, model, model_file, out) -> None:
    """Draw from a trained generative model: KIND charlm prints new names, one per line; KIND music writes new
    chorale melodies as MIDI and prints what it wrote (C5W1)."""
    if kind == "music" and not out:
        raise CliError("dlzoo generate music needs --out, the MIDI file to write (e.g. --out chorale.mid)")
    task, net = _trained(ctx, kind, GENERATORS[kind], model, model_file)
    drawn = task.sample(net, count or (1 if kind == "music" else 20), temperature, seed)
    if kind == "charlm":
        text = "\n".join(drawn)
        if out:
            Path(out).write_text(text + "\n")
        else:
            click.echo(text)
        return
    from pipelines.tasks.music import read_notes, to_midi

    path = Path(out)
    paths = [path] if len(drawn) == 1 else [path.with_name(f"{path.stem}-{i}{path.suffix}")
                                             for i in range(1, len(drawn) + 1)]
    written = []
    for file, tokens in zip(paths, drawn, strict=True):
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(to_midi(tokens))
        mode, notes, stray = read_notes(tokens)
        written.append({"out": str(file), "mode": mode, "notes": len(notes), "tokens_not_read": stray,
                        "seconds_at_80_bpm": round(sum(n["quarters"] for n in notes) * 60 / 80, 1)})
    click.echo(json.dumps(written, indent=2))


# what `dlzoo predict KIND` runs in-process (no TorchServe): the model it loads by default, and its task
PREDICTORS = {"emojify": ("c5w2_emojify_v1", "pipelines.tasks.emojify:EmojifyTask"),
              "en-es": ("c5w4_transformer_en_es", "pipelines.tasks.bible_translation:BibleTranslationTask")}


@cli.command("predict")
@click.argument("kind", type=click.Choice(sorted(PREDICTORS)))
@click.argument("texts", nargs=-1, required=True)
@click.option("--model", default=None,
              help="Which trained model (default: emojify c5w2_emojify_v1, the better on dev; en-es "
                   "c5w4_transformer_en_es).")
@click.option("--model-file", type=click.Path(dir_okay=False), default=None,
              help="Trained model (default: artifacts/<model>/model.pt).")
@click.pass_context
def predict_cmd(ctx, kind, texts, model, model_file) -> None:
    """Run a trained model on TEXTS in this process and print JSON: KIND emojify gives each sentence's emoji and
    every class's probability (C5W2), e.g. dlzoo predict emojify "I love you"; KIND en-es translates English into
    Spanish by beam search, as the translation_en_es service does (C5W4), e.g. dlzoo predict en-es "Amen." """
    if not all(text.strip() for text in texts):
        raise CliError("TEXTS: an empty sentence has nothing to predict from")
    task, net = _trained(ctx, kind, PREDICTORS[kind], model, model_file)
    click.echo(json.dumps(task.predict_texts(net, list(texts)), indent=2, ensure_ascii=False))


@cli.command("scoreboard")
@click.option("--out", type=click.Path(dir_okay=False), default="reports/scoreboard.md", show_default=True,
              help="Markdown file to write.")
def scoreboard_cmd(out) -> None:
    """Write the scoreboard: every model's headline metric beside the course's number."""
    from pipelines.evaluation.scoreboard import write_scoreboard

    click.echo(write_scoreboard(Path(out)))


def main() -> None:
    cli(prog_name="dlzoo")


if __name__ == "__main__":
    main()
