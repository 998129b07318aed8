import type { FileRow } from '@parley/db';
import type { FileInfo } from '@parley/protocol';
import { THUMBNAIL_SIZES } from './image-processor.ts';

/** A file row as clients see it. */
export function toFileInfo(row: FileRow): FileInfo {
  return {
    id: row.id,
    name: row.name,
    size: row.size,
    contentType: row.content_type,
    purpose: row.purpose,
    status: row.status,
    failureReason: row.failure_reason,
    width: row.width,
    height: row.height,
    placeholder: row.placeholder,
    thumbnails: row.thumbnails ? [...THUMBNAIL_SIZES] : [],
    createdAt: row.created_at.toISOString(),
  };
}

/** The public path of a file: what an avatar's or an uploaded icon's URL is. */
export const filePath = (fileId: string) => `/api/files/${fileId}`;
