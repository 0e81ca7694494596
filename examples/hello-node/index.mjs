// Lambda's Node.js handler shape: an exported async function of (event, context).
export const handler = async (event, context) => {
  const name = event.name ?? 'world';
  console.log(`greeting ${name} in request ${context.awsRequestId}`);
  return { message: `${process.env.GREETING}, ${name}!` };
};
