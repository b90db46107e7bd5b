# claimbot: a small non-root image that runs the bot against SQLite on /data (or PostgreSQL).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CLAIMBOT_DATABASE_URL=sqlite:////data/claimbot.db \
    CLAIMBOT_CLAIMS_FILE=/app/config/claims.yaml \
    CLAIMBOT_FEEDS_FILE=/app/config/feeds.yaml

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install '.[postgres]' && useradd --create-home --uid 10001 claimbot \
    && mkdir -p /data && chown claimbot /data
COPY config ./config

USER claimbot
VOLUME ["/data"]
CMD ["claimbot", "run"]
