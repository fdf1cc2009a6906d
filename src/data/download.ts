/** Opening a download, with one wording of what failed and what to do offline. */

/** A fetched response with a body; throws with `offlineHelp` appended when the network or the server fails. */
export async function fetchBody(url: string, offlineHelp: string): Promise<Response & { body: NonNullable<Response["body"]> }> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    throw new Error(`could not download ${url} (${cause}). ${offlineHelp}`);
  }
  if (!response.ok || !response.body) throw new Error(`could not download ${url}: HTTP ${response.status} ${response.statusText}. ${offlineHelp}`);
  return response as Response & { body: NonNullable<Response["body"]> };
}
