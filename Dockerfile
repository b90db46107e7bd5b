# claimbot: a small non-root image that runs the bot against SQLite on /data (or PostgreSQL).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CLAIMBOT_DATABASE_URL=sqlite:////data/claimbot.db \
    CLAIMBOT_CLAIMS_FILE=/app/config/claims.yaml \
    CLAIMBOT_FEEDS_FILE=/app/config/feeds.yaml \
    CLAIMBOT_EMBEDDING_CACHE=/data/embeddings.npz \
    CLAIMBOT_HTTP_HOST=0.0.0.0 \
    CLAIMBOT_HTTP_PORT=8080

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install '.[postgres]' && useradd --create-home --uid 10001 claimbot \
    && mkdir -p /data && chown claimbot /data
COPY config ./config

USER claimbot
VOLUME ["/data"]
EXPOSE 8080
# Ready when the database answers and the poll tick runs (see /healthz); no curl in slim images.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('CLAIMBOT_HTTP_PORT', '8080') + '/healthz', timeout=4)"]
CMD ["claimbot", "run"]
