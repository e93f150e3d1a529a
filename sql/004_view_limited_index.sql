-- The sweep's "used up" half (max_views IS NOT NULL AND views >= max_views) read every refs row:
-- 1.6 s per sweep at 10,000,000 items (bench/results.md, growth). View-limited items are few, so
-- a partial index on them alone keeps that query as cheap as their number, and costs nothing to
-- the items without a view limit.
CREATE INDEX refs_view_limited ON refs (content_id) WHERE max_views IS NOT NULL;
