/** cluster-key-slot (ioredis's own slot function; it ships no types): the Redis Cluster hash slot of a key, hash tags included. */
declare module 'cluster-key-slot' {
  function calculateSlot(key: string | Buffer): number;
  namespace calculateSlot {
    /** The one slot of all `keys`, or -1 when they are in more than one. */
    function generateMulti(keys: readonly (string | Buffer)[]): number;
  }
  export = calculateSlot;
}
