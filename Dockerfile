# docker build -t oparl-server . && docker run -p 8000:8000 -v oparl-data:/data \
#   -e OPARL_PUBLIC_BASE_URL=http://localhost:8000 oparl-server
# With PostgreSQL: docker/compose.yaml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OPARL_DATA_DIR=/data \
    OPARL_HOST=0.0.0.0 \
    OPARL_PORT=8000 \
    PATH=/app/.venv/bin:$PATH

RUN useradd --create-home --uid 10001 oparl && mkdir /data && chown oparl /data
WORKDIR /app

# Dependencies first, read from pyproject.toml alone: this layer is rebuilt when they change,
# not on every change of the code.
COPY pyproject.toml ./
RUN python3 -m venv /app/.venv \
    && python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir "setuptools>=70.1" -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the code, installed as a regular (non-editable) package; fixtures/ stays beside it for
# `load-fixtures fixtures/luebeck`.
COPY README.md ./
COPY api api
COPY models models
COPY oparl oparl
COPY fixtures fixtures
COPY docker/entrypoint.sh /usr/local/bin/oparl-entrypoint
RUN pip install --no-cache-dir --no-deps --no-build-isolation . && rm -rf build *.egg-info

USER oparl
# The SQLite database (unless OPARL_DATABASE_URL names PostgreSQL) and stored files: mount a named
# volume (-v oparl-data:/data), or every `docker run` gets a fresh anonymous one.
VOLUME /data
EXPOSE 8000
# Ready: the database is reachable and migrated (GET /readyz).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request as u; u.urlopen(f\"http://127.0.0.1:{os.environ.get('OPARL_PORT', '8000')}/readyz\", timeout=4)"]
ENTRYPOINT ["oparl-entrypoint"]
CMD ["serve"]
