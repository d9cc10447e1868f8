# MusicGraph: one image for the init job (ETL + training) and the web app (gunicorn).
# Neo4j runs in its own container (docker-compose.yml), so no Java or Maven here.
#
# The layers run from what changes least to what changes most: the dependency layers
# depend only on setup.cfg and requirements.lock (the same pins `make demo` installs),
# so editing the code reuses them and only the last, small layers are rebuilt.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MUSICGRAPH_MODELS=/models

WORKDIR /app

# 1. Dependencies, from the same files and pins as `make demo`.
#    requirements.lock was resolved with PyPI's CUDA build of torch; the image takes the
#    CPU build of the same torch version (no nvidia-*, triton or cuda-* wheels: about
#    a tenth of the size), and every other package at its pinned version.
COPY setup.cfg requirements.lock ./
RUN grep -vE '^(nvidia-|triton|cuda-)' requirements.lock > /tmp/constraints.txt \
 && TORCH_VERSION="$(sed -n 's/^torch==//p' requirements.lock)" \
 && pip install -c /tmp/constraints.txt \
        --index-url https://download.pytorch.org/whl/cpu \
        --extra-index-url https://pypi.org/simple \
        "torch==${TORCH_VERSION}+cpu"
# The project's install_requires from setup.cfg (not its code), under the same pins.
RUN python -c "import configparser; c = configparser.ConfigParser(); c.read('setup.cfg'); print(c['options']['install_requires'])" > /tmp/requirements.txt \
 && pip install -c /tmp/constraints.txt -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# 2. The code and the bundled data. An editable install (no dependencies: they are all
#    above) keeps the package in /app, so it finds /app/data/spotify_songs.csv.gz.
COPY pyproject.toml README.md ./
COPY musicgraph ./musicgraph
COPY etl ./etl
COPY gnn ./gnn
COPY app ./app
COPY cypher ./cypher
COPY evaluation ./evaluation
COPY data/spotify_songs.csv.gz data/README.md ./data/
RUN pip install --no-deps --config-settings editable_mode=compat -e . \
 && useradd --create-home --uid 10001 musicgraph \
 && mkdir -p /models \
 && chown musicgraph:musicgraph /models

USER musicgraph
EXPOSE 8000
# The app by default; docker-compose.yml's init service runs the ETL and training instead.
CMD ["gunicorn", "-c", "python:app.gunicorn_conf", "-b", "0.0.0.0:8000", "app.wsgi:app"]
