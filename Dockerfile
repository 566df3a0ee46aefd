FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OPARL_DATA_DIR=/data \
    OPARL_HOST=0.0.0.0 \
    OPARL_PORT=8000

RUN useradd --create-home --uid 10001 oparl && mkdir /data && chown oparl /data
WORKDIR /app
COPY --chown=oparl . /app
# The README's install step: a virtualenv with the project installed in editable mode.
RUN python3 -m venv /app/.venv && /app/.venv/bin/pip install --no-cache-dir -e . && chown -R oparl /app/.venv
ENV PATH=/app/.venv/bin:$PATH

USER oparl
VOLUME /data
EXPOSE 8000
CMD ["sh", "-c", "oparl-server migrate && oparl-server serve"]
