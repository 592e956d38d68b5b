export default function Home() {
  return <main>Welcome to the shop</main>;
}
