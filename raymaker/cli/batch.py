"""``raymaker transform``: batch predictions with a model over a file, prefix or glob."""

from __future__ import annotations

import click

from raymaker.cli.common import session, wait_and_show
from raymaker.cli.render import output_option


def register(cli: click.Group) -> None:
    cli.add_command(transform)


@click.command()
@click.argument("model_data")
@click.argument("data")
@click.option("--content-type", default=None, help="Input type (default: from DATA's name, "
              "else text/csv).")  # fmt: skip
@click.option("--split-type", type=click.Choice(["Line", "None"]), default="Line",
              show_default=True, help="Line: a record a line; None: a record a file.")  # fmt: skip
@click.option("--compression-type", type=click.Choice(["None", "Gzip"]), default=None)
@click.option("--accept", default=None, help="Output type (default: the input's; Parquet in, "
              "Parquet out).")  # fmt: skip
@click.option("--output-path", default=None, help="Where results go (default: the job's output).")
@click.option("--join-source", type=click.Choice(["Input", "None"]), default=None)
@click.option("--input-filter", default=None, help="JSONPath of what the model sees: $[1:].")
@click.option("--output-filter", default=None, help="JSONPath of what is written: $[0,-1].")
@click.option("--on-bad-rows", type=click.Choice(["fail", "skip"]), default="fail",
              show_default=True)  # fmt: skip
@click.option("--instance-count", type=int, default=1, show_default=True)
@click.option("--instance-type", default="cpu.1", show_default=True)
@click.option("--entry-point", default=None, help="A custom handler module (model_fn, ...).")
@click.option("--source-dir", default=None, help="The folder holding --entry-point.")
@click.option("--framework", type=click.Choice(["pytorch", "sklearn", "tensorflow", "xgboost"]),
              default=None, help="A model made elsewhere (no raymaker manifest): served as this "
              "framework's SageMaker container serves it.")  # fmt: skip
@click.option("--name", default=None, help="Job name (default: generated).")
@click.option("--wait/--no-wait", default=True, help="Wait for the job to end.")
@click.option("--timeout", type=float, help="Seconds to wait at most.")
@output_option
def transform(model_data, data, content_type, split_type, compression_type, accept,
              output_path, join_source, input_filter, output_filter, on_bad_rows,
              instance_count, instance_type, entry_point, source_dir, framework, name, wait,
              timeout, output):  # fmt: skip
    """Batch-predict DATA (a file, prefix or glob) with the model at MODEL_DATA."""
    from raymaker.sagemaker.transformer import Transformer

    sess = session()
    transformer = Transformer(
        model_data=model_data, instance_count=instance_count, instance_type=instance_type,
        accept=accept, output_path=output_path, entry_point=entry_point,
        source_dir=source_dir, framework=framework, on_bad_rows=on_bad_rows,
        assemble_with="Line", session=sess,
    )  # fmt: skip
    spec = transformer.transform_job_spec(
        data, content_type, compression_type, split_type, name, input_filter, output_filter,
        join_source,
    )  # fmt: skip
    handle = sess.jobs.submit(spec, name=spec.name)
    if not wait:
        click.echo(handle.name)
        return
    click.echo(f"submitted job {handle.name}", err=True)
    wait_and_show(handle, timeout=timeout, logs=False, output=output)
